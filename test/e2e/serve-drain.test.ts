// SIGTERM under load, against a real `serve` process (signals and the process's exit are the
// point): 20 keep-alive connections validate in a loop while the server is told to stop.
// Every request that reached it gets a whole answer — those answered during the drain with
// `connection: close` — none is reset, new connections are refused once the drain started,
// the process exits 0, and usage holds exactly the validations that were answered.
import { connect } from 'node:net'

import { expect } from 'chai'
import { Agent, request } from 'undici'

import { runJson } from '../helpers/cli.js'
import { openTestSql, truncateAll } from '../helpers/db.js'
import type { ServeProcess } from '../helpers/serve.js'
import { startServe } from '../helpers/serve.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** What happened to one request of the load. */
type Outcome = { kind: 'answer'; status: number; valid: boolean; close: boolean; afterSignal: boolean } | { kind: 'refused' } | { kind: 'error'; code: string; afterSignal: boolean }

describe('serve drains on SIGTERM under keep-alive load (a real serve process)', function () {
  this.timeout(60_000)
  const sql = openTestSql()
  let server: ServeProcess | undefined
  beforeEach(async () => {
    await truncateAll(sql)
    await runJson(['lockout', 'clear', '--all'])
  })
  afterEach(async () => {
    await server?.stop('SIGKILL')
    server = undefined
  })
  after(() => sql.end())

  it('given 20 keep-alive connections validating in a loop, when serve gets SIGTERM, then every request sent is answered in full, none is reset, it exits 0 and usage counts every valid answer', async () => {
    const keys = await Promise.all(
      [1, 2].map(async (i) => {
        const created = await runJson(['api-key', 'create', '--name', `drain-${i}`, '--type', 'service'])
        expect(created.code, created.stderr).to.equal(0)
        return { secret: created.json.secret as string, id: created.json.key.id as string }
      }),
    )
    // A cache of one entry and two keys taking turns: every validation reads PostgreSQL, so
    // requests are in flight in the server (not only on the wire) when the signal comes.
    const s = (server = await startServe({ CACHE_MAX_CAPACITY: '1' }))
    const origin = new URL(s.url).origin
    // 20 connections kept alive for as long as the server lets them; no retries, no pipelining.
    const agent = new Agent({ connections: 20, pipelining: 1, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 })
    const outcomes: Outcome[] = []
    let signalled = false
    const started = Date.now()
    // Bounded in count and time whatever the server does.
    const MAX_REQUESTS = 200_000
    const MAX_MS = 20_000
    const worker = async (_: unknown, i: number) => {
      const body = JSON.stringify({ key: keys[i % 2]!.secret, ip: '192.0.2.10' })
      while (outcomes.length < MAX_REQUESTS && Date.now() - started < MAX_MS) {
        const afterSignal = signalled
        try {
          const res = await request(`${origin}/v1/keys/verify`, { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' }, body })
          const json = (await res.body.json()) as { valid?: boolean }
          outcomes.push({ kind: 'answer', status: res.statusCode, valid: json.valid === true, close: res.headers.connection === 'close', afterSignal })
        } catch (error) {
          const code = (error as { code?: string; cause?: { code?: string } }).code ?? 'unknown'
          const cause = (error as { cause?: { code?: string } }).cause?.code
          // A connection the server no longer accepts: the request was never sent.
          if (code === 'ECONNREFUSED' || cause === 'ECONNREFUSED') {
            outcomes.push({ kind: 'refused' })
            return
          }
          outcomes.push({ kind: 'error', code: `${code}${cause ? `/${cause}` : ''}: ${(error as Error).message}`, afterSignal })
          if (signalled) return
        }
      }
    }
    const workers = Array.from({ length: 20 }, worker)
    // Warm: every connection open and busy before the signal.
    while (outcomes.length < 2000 && Date.now() - started < 5000) await sleep(20)
    const exited = new Promise<number | null>((resolve) => s.child.once('exit', (code) => resolve(code)))
    const signalAt = Date.now()
    signalled = true
    s.child.kill('SIGTERM')
    await Promise.all(workers)
    const code = await exited
    const exitMs = Date.now() - signalAt
    await agent.close().catch(() => {})

    const answers = outcomes.filter((o) => o.kind === 'answer')
    const errors = outcomes.filter((o) => o.kind === 'error')
    const report = `answers ${answers.length} (after the signal ${answers.filter((a) => a.afterSignal).length}, with connection: close ${answers.filter((a) => a.close).length}), refused ${outcomes.filter((o) => o.kind === 'refused').length}, errors ${errors.length}: ${JSON.stringify(errors.slice(0, 5))}`
    expect(errors, report).to.deep.equal([])
    expect(code, s.stderr()).to.equal(0)
    expect(exitMs, 'exit within the drain timeout (10 s) and the flush').to.be.below(12_000)
    expect(answers.every((a) => a.status === 200 && a.valid), report).to.equal(true)
    // The drain was exercised: requests arrived during it on the open connections, and were
    // answered with connection: close.
    expect(answers.filter((a) => a.close).length, report).to.be.at.least(1)
    const [row] = await sql`select coalesce(sum(ok_count), 0)::int as ok, coalesce(sum(fail_count), 0)::int as fail from key_usage_minute where key_id in ${sql(keys.map((k) => k.id))}`
    expect(row, report).to.deep.equal({ ok: answers.length, fail: 0 })
  })

  /** A raw connection sending headers and the start of a body, then a byte every 100 ms: a request in flight that never completes. */
  const unfinishedRequest = (url: string) => {
    const socket = connect(Number(new URL(url).port), '127.0.0.1')
    socket.on('error', () => {})
    socket.write('POST /v1/usage HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{')
    const drip = setInterval(() => socket.writable && socket.write(' '), 100)
    let answer = ''
    socket.setEncoding('utf8')
    socket.on('data', (d: string) => (answer += d))
    const closed = new Promise<string>((resolve) => socket.once('close', () => (clearInterval(drip), resolve(answer))))
    return { closed }
  }

  const exitOf = (s: ServeProcess) => new Promise<number | null>((resolve) => s.child.once('exit', (code) => resolve(code)))

  it('given a request in flight that never completes and an idle keep-alive connection, when serve gets SIGTERM, then the idle one is closed after a short grace, the other is answered 503 at MOMENTRY_HTTP_DRAIN_TIMEOUT, and serve exits 0 saying so', async () => {
    const s = (server = await startServe({ MOMENTRY_HTTP_DRAIN_TIMEOUT: '2s' }))
    const agent = new Agent({ connections: 1, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 })
    const healthy = await request(`${s.url}/healthz`, { dispatcher: agent })
    await healthy.body.text()
    expect(healthy.headers.connection).to.equal('keep-alive')
    const stuck = unfinishedRequest(s.url)
    await sleep(300)
    const exited = exitOf(s)
    const signalAt = Date.now()
    s.child.kill('SIGTERM')
    const idleClosed = new Promise<number>((resolve) => agent.once('disconnect', () => resolve(Date.now() - signalAt)))
    expect(await idleClosed, 'the idle keep-alive connection closes after the 0.5 s grace, not at the timeout').to.be.below(1500)
    // Cut off, it is told so rather than reset.
    const answer = await stuck.closed
    expect(answer).to.match(/^HTTP\/1\.1 503 Service Unavailable\r\n/)
    expect(answer).to.match(/\r\nconnection: close\r\n/i)
    expect(answer).to.match(/\r\n\r\n\{"error":\{"code":"SHUTTING_DOWN","message":"the server is shutting down; retry the request"\}\}$/)
    const code = await exited
    expect(code, s.stderr()).to.equal(0)
    expect(Date.now() - signalAt).to.be.within(1900, 5000)
    expect(s.stderr()).to.match(/closed 1 connection with a request still in flight \(drain timeout 2s/)
    await agent.close()
  })

  it('given a request in flight that never completes, when serve gets a second SIGTERM during the drain, then it stops waiting and exits 0', async () => {
    const s = (server = await startServe({ MOMENTRY_HTTP_DRAIN_TIMEOUT: '60s' }))
    const stuck = unfinishedRequest(s.url)
    await sleep(300)
    const exited = exitOf(s)
    const signalAt = Date.now()
    s.child.kill('SIGTERM')
    await sleep(500)
    s.child.kill('SIGTERM')
    expect(await stuck.closed).to.match(/^HTTP\/1\.1 503 /)
    expect(await exited, s.stderr()).to.equal(0)
    expect(Date.now() - signalAt).to.be.below(3000)
    expect(s.stderr()).to.match(/stopping now: closing connections with requests still in flight/)
  })
})
