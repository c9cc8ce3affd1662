// The drain of a plain node:http server (trackConnections), in process: what happens to a
// connection by the state it is in when the drain starts. serve's whole stop under load is in
// test/e2e/serve-drain.test.ts.
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import { connect } from 'node:net'
import type { AddressInfo, Socket } from 'node:net'

import { expect } from 'chai'

import { DRAIN_IDLE_GRACE_MS, trackConnections } from '../../src/http/drain.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A connection to the server, and everything it has been sent until it closed. */
async function open(server: Server): Promise<{ socket: Socket; received: () => string; closed: Promise<number> }> {
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1')
  await new Promise((resolve) => socket.once('connect', resolve))
  let text = ''
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')))
  const started = performance.now()
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now() - started)))
  socket.on('error', () => {})
  return { socket, received: () => text, closed }
}

describe('drain: connections by their state when it starts', () => {
  let server: Server
  beforeEach(async () => {
    server = createServer((_req, res) => res.end('ok'))
  })
  afterEach(() => {
    server.closeAllConnections()
  })

  it('given a request whose headers are half sent when the drain starts, and the rest 700 ms later, then it is answered with connection: close, not cut off as idle', async () => {
    const drain = trackConnections(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const c = await open(server)
    c.socket.write('GET /p HTTP/1.1\r\nHost: x\r\n')
    await sleep(50)
    const drained = drain.drain(5_000)
    await sleep(DRAIN_IDLE_GRACE_MS + 200)
    c.socket.write('\r\n')
    await c.closed
    expect(c.received()).to.match(/^HTTP\/1\.1 200 OK\r\n/)
    expect(c.received()).to.match(/\r\nconnection: close\r\n/i)
    expect((await drained).forced).to.equal(0)
  })

  it('given a keep-alive connection already answered and one that never sent a byte, then each is closed about the grace after the drain starts, and the drain ends with none forced', async () => {
    const drain = trackConnections(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const answered = await open(server)
    answered.socket.write('GET /p HTTP/1.1\r\nHost: x\r\n\r\n')
    while (!answered.received().endsWith('ok')) await sleep(10)
    const silent = await open(server)
    const started = performance.now()
    const result = await drain.drain(5_000)
    const took = performance.now() - started
    await Promise.all([answered.closed, silent.closed])
    expect(result.forced).to.equal(0)
    expect(took).to.be.within(DRAIN_IDLE_GRACE_MS - 50, DRAIN_IDLE_GRACE_MS + 1_000)
    expect(answered.received()).to.not.match(/connection: close/i) // its one answer came before the drain
  })
})
