import type { AddressInfo, Socket } from 'node:net'
import { createConnection, createServer } from 'node:net'

/**
 * A TCP proxy in front of a real server (PostgreSQL here) that can break connections the way
 * networks do: `freeze()` makes every open connection half-open — nothing passes either way
 * and nothing is closed, as when a host or a NAT on the path goes away — while new
 * connections pass as usual; `dropWhen` closes a connection on a chunk that matches: one from
 * the client is not forwarded, one from the server is (then the client's side is ended).
 */
export interface TcpProxy {
  readonly port: number
  /** Connections accepted so far. */
  readonly accepted: number
  freeze(): void
  dropWhen(match: ((chunk: Buffer) => boolean) | undefined, from?: 'client' | 'server'): void
  close(): Promise<void>
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<{ client: Socket; upstream: Socket; frozen: boolean }>()
  let accepted = 0
  let drop: { match: (chunk: Buffer) => boolean; from: 'client' | 'server' } | undefined
  const server = createServer((client) => {
    accepted++
    const upstream = createConnection(target)
    const pair = { client, upstream, frozen: false }
    open.add(pair)
    const end = () => {
      open.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('data', (chunk) => {
      if (pair.frozen) return
      if (drop?.from === 'client' && drop.match(chunk)) return end()
      upstream.write(chunk)
    })
    upstream.on('data', (chunk) => {
      if (pair.frozen) return
      if (drop?.from === 'server' && drop.match(chunk)) {
        open.delete(pair)
        upstream.destroy()
        client.end(chunk)
        return
      }
      client.write(chunk)
    })
    for (const s of [client, upstream]) {
      s.on('error', end)
      s.on('close', () => !pair.frozen && end())
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    get accepted() {
      return accepted
    },
    freeze() {
      for (const pair of open) pair.frozen = true
    },
    dropWhen(match, from = 'client') {
      drop = match && { match, from }
    },
    async close() {
      for (const { client, upstream } of open) {
        client.destroy()
        upstream.destroy()
      }
      open.clear()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
