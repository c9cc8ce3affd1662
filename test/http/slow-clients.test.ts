// Slow clients against a real socket of `serve` (in this process, with short bounds set by
// MOMENTRY_HTTP_HEADERS_TIMEOUT / MOMENTRY_HTTP_REQUEST_TIMEOUT): a client that sends its
// headers, or its body, a byte at a time is answered 408 and its connection closed within the
// bound, while other clients keep being served.
import { connect } from 'node:net'

import { expect } from 'chai'

import { runJson, spawnCli } from '../helpers/cli.js'
import { openTestSql, truncateAll } from '../helpers/db.js'
import type { InProcessServe } from '../helpers/serve.js'
import { serveInProcess } from '../helpers/serve.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface SlowResult {
  /** ms from connect to the server closing the connection. */
  closedAfterMs: number
  /** What the server sent. */
  answer: string
}

/**
 * Open a raw socket, write `first`, then one byte of `drip` every `everyMs` until the server
 * closes the connection (or `giveUpMs` passes, when the result says so).
 */
function slowClient(port: number, first: string, { drip = 'a', everyMs = 100, giveUpMs = 8000 } = {}): Promise<SlowResult> {
  return new Promise((resolve) => {
    const started = performance.now()
    const socket = connect(port, '127.0.0.1')
    let answer = ''
    socket.setEncoding('utf8')
    socket.on('data', (d: string) => (answer += d))
    socket.on('error', () => {})
    const timer = setInterval(() => {
      if (!socket.destroyed && socket.writable) socket.write(drip)
    }, everyMs)
    const giveUp = setTimeout(() => socket.destroy(), giveUpMs)
    socket.on('connect', () => first && socket.write(first))
    socket.on('close', () => {
      clearInterval(timer)
      clearTimeout(giveUp)
      resolve({ closedAfterMs: performance.now() - started, answer })
    })
  })
}

describe('slow clients are cut off (MOMENTRY_HTTP_HEADERS_TIMEOUT, MOMENTRY_HTTP_REQUEST_TIMEOUT)', function () {
  this.timeout(30_000)
  const sql = openTestSql()
  let serve: InProcessServe | undefined
  let port = 0
  let secret = ''
  before(async () => {
    await truncateAll(sql)
    const created = await runJson(['api-key', 'create', '--name', 'slow-clients', '--type', 'service'])
    expect(created.code, created.stderr).to.equal(0)
    secret = created.json.secret
    serve = await serveInProcess({ MOMENTRY_HTTP_HEADERS_TIMEOUT: '1s', MOMENTRY_HTTP_REQUEST_TIMEOUT: '2s' })
    port = Number(new URL(serve.url).port)
  })
  after(async () => {
    await serve?.stop()
    await sql.end()
  })

  const expect408 = (r: SlowResult) => {
    expect(r.answer).to.match(/^HTTP\/1\.1 408 Request Timeout\r\n/)
    expect(r.answer).to.match(/\r\nconnection: close\r\n/i)
    expect(JSON.parse(r.answer.slice(r.answer.indexOf('\r\n\r\n') + 4))).to.deep.equal({ error: { code: 'REQUEST_TIMEOUT', message: 'the request did not arrive in time' } })
  }

  it('given a client sending its headers a byte at a time, then it is answered 408 and closed once the headers timeout (1 s) has passed', async () => {
    const r = await slowClient(port, 'POST /v1/keys/verify HTTP/1.1\r\nhost: x\r\nx-slow: ', { drip: 'a' })
    expect408(r)
    // Node checks every quarter of the bound here (250 ms).
    expect(r.closedAfterMs).to.be.within(950, 1800)
  })

  it('given a client that connects and sends nothing, then it is closed once the headers timeout (1 s) has passed', async () => {
    const r = await slowClient(port, '', { drip: '', everyMs: 1000 })
    expect(r.closedAfterMs).to.be.within(950, 1800)
  })

  it('given a client sending its body a byte at a time, then it is answered 408 and closed once the request timeout (2 s) has passed', async () => {
    const r = await slowClient(port, 'POST /v1/keys/verify HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"key":"', { drip: 'a' })
    expect408(r)
    expect(r.closedAfterMs).to.be.within(1950, 2800)
  })

  it('given a slow body on a route fastify answers, then it is cut off the same way', async () => {
    const r = await slowClient(port, 'POST /v1/usage HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{', { drip: ' ' })
    expect408(r)
    expect(r.closedAfterMs).to.be.within(1950, 2800)
  })

  it('given 300 slow clients at once (headers, bodies, silence), then every one is closed within the bounds while validations keep being answered', async () => {
    const slow = [
      ...Array.from({ length: 100 }, () => slowClient(port, 'POST /v1/keys/verify HTTP/1.1\r\nhost: x\r\nx-slow: ', { everyMs: 200 })),
      ...Array.from({ length: 100 }, () => slowClient(port, 'POST /v1/keys/verify HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n', { everyMs: 200 })),
      ...Array.from({ length: 100 }, () => slowClient(port, '', { drip: '', everyMs: 1000 })),
    ]
    let done = false
    void Promise.all(slow).then(() => (done = true))
    const latencies: number[] = []
    const statuses: number[] = []
    while (!done) {
      const t = performance.now()
      const r = await serve!.post('/v1/keys/verify', { key: secret, ip: '192.0.2.20' })
      latencies.push(performance.now() - t)
      statuses.push(r.status)
      expect(r.json.valid).to.equal(true)
      await sleep(20)
    }
    const results = await Promise.all(slow)
    expect(Math.max(...results.map((r) => r.closedAfterMs))).to.be.below(3000)
    for (const r of results.slice(0, 200)) expect408(r)
    expect(statuses.length).to.be.greaterThan(20)
    expect(statuses.every((s) => s === 200)).to.equal(true)
    latencies.sort((a, b) => a - b)
    expect(latencies[Math.floor(latencies.length * 0.95)], `validation latencies while 300 clients are slow (ms): ${latencies.map(Math.round).join(' ')}`).to.be.below(100)
  })
})

describe('serve timeouts in the environment', () => {
  for (const [name, value, problem] of [
    ['MOMENTRY_HTTP_HEADERS_TIMEOUT', '10', 'expected a duration like 10s'],
    ['MOMENTRY_HTTP_REQUEST_TIMEOUT', '5s', 'the headers timeout (10s) must not be longer than the request timeout (5s), which includes it'],
    ['MOMENTRY_HTTP_DRAIN_TIMEOUT', '2h', 'expected a duration of at most 1h, like 10s'],
  ] as const) {
    it(`given ${name}=${value}, when serve starts, then it exits 8 with one line naming the variable`, async () => {
      const r = await spawnCli(['serve', '--port', '0'], { env: { [name]: value } })
      expect(r.code).to.equal(8)
      expect(r.stderr.trim().split('\n')).to.deep.equal([`Error: ${name} is invalid: ${problem}. Fix or unset ${name}; \`momentry config\` lists every variable with its default`])
    })
  }

  it('given the defaults, when config lists the variables, then the three serve bounds are there with their defaults', async () => {
    const r = await runJson(['config'])
    const items = r.json.items as { name: string; value: string; source: string }[]
    expect(items.filter((i) => i.name.startsWith('MOMENTRY_HTTP_') && i.name !== 'MOMENTRY_HTTP_TIMEOUT_SECONDS')).to.deep.equal([
      { name: 'MOMENTRY_HTTP_HEADERS_TIMEOUT', value: '10s', source: 'default' },
      { name: 'MOMENTRY_HTTP_REQUEST_TIMEOUT', value: '30s', source: 'default' },
      { name: 'MOMENTRY_HTTP_DRAIN_TIMEOUT', value: '10s', source: 'default' },
    ])
  })
})
