import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/** Ways a fake can misbehave, switched on by a test. */
export type Fault = 'none' | '500' | '502' | 'html' | 'garbage-json' | 'hang'

export interface SeenRequest {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: string
}

export interface FakeServer {
  url: string
  fault: Fault
  /** Milliseconds to wait before answering (to make concurrent CLI runs overlap). */
  delayMs: number
  seen: SeenRequest[]
  close(): Promise<void>
}

export function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string | string[]> = {}): void {
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v)
  if (body === undefined) {
    res.statusCode = status
    res.end()
    return
  }
  res.statusCode = status
  res.setHeader('content-type', 'application/json; charset=utf-8')
  res.end(JSON.stringify(body))
}

/**
 * A node:http server on a random loopback port that applies the test's fault switch
 * before handing the request to the fake's own routes.
 */
export async function startFake(handle: (req: SeenRequest, res: ServerResponse) => void): Promise<FakeServer> {
  const fake: FakeServer = { url: '', fault: 'none', delayMs: 0, seen: [], close: async () => {} }
  const server: Server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', async () => {
      if (fake.delayMs) await new Promise((r) => setTimeout(r, fake.delayMs))
      const seen = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body }
      fake.seen.push(seen)
      switch (fake.fault) {
        case 'hang':
          return // never answer
        case '500':
        case '502':
          return send(res, Number(fake.fault), { message: 'internal server error' })
        case 'html':
          res.statusCode = 200
          res.setHeader('content-type', 'text/html')
          return void res.end('<html><body>Sign in</body></html>')
        case 'garbage-json':
          return send(res, 200, { unexpected: true, data: { nothing: 1 } })
        default:
          try {
            handle(seen, res)
          } catch (error) {
            send(res, 500, { message: String(error) })
          }
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  fake.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return fake
}
