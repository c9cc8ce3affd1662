// PostgreSQL restarted (fast shutdown, 3 s down, started again) under validation load, with a
// real `momentry serve` on the private PostgreSQL and a private Redis. While PostgreSQL is
// down serve cannot hear revocations, so by design it stops answering from its cache and
// re-reads each key: those validations answer 503 until PostgreSQL is back. They must be
// answered (never a reset or a hang), never 500, and leave no usage behind; serve must come
// back by itself, and a revocation committed the moment PostgreSQL is back — before serve's
// LISTEN connection is — must still be enforced within 100 ms.
import { expect } from 'chai'
import type { Pool } from 'undici'

import { connectPostgres } from '../../src/core/db/connect.js'

import type { ServeProcess } from '../helpers/serve.js'
import { startServe } from '../helpers/serve.js'
import { connect, refusedAfter, startLoad, Tally } from './load.js'
import type { PrivatePostgres, PrivateRedis } from './private-servers.js'
import { startPrivatePostgres, startPrivateRedis } from './private-servers.js'
import { note, untilReady } from './report.js'
import type { World } from './world.js'
import { acceptedAfterRevocation, expectExactAccounting, lastAcceptedMs, makeWorld } from './world.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const DOWN_MS = 3_000

describe('fault: PostgreSQL restarted under validation load', function () {
  this.timeout(120_000)
  let pg: PrivatePostgres | undefined
  let redis: PrivateRedis | undefined
  let world: World | undefined
  let serve: ServeProcess | undefined
  const pools: Pool[] = []
  before(async () => {
    ;[pg, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis()])
  })
  after(async () => {
    await Promise.all(pools.map((p) => p.destroy()))
    await serve?.stop('SIGKILL')
    await world?.close()
    await redis?.stop()
    await pg?.close()
  })

  it('given serve under load, when PostgreSQL restarts, then every request is answered (200, or 503 while it is down), a revocation at restart is enforced within 100 ms, serve recovers by itself, and usage and audit are exact', async () => {
    world = await makeWorld(pg!, redis!.url, 'pg')
    serve = await startServe(world.env)
    const pool = connect(serve.url, 4)
    const poller = connect(serve.url, 1)
    pools.push(pool, poller)
    const tally = new Tally()
    for (const k of world.keys) expect((await tally.verify(pool, k)).valid, k.label).to.equal(true)
    expect(await untilReady(serve.url, 5_000)).to.be.below(5_000)

    const load = startLoad(tally, pool, world.keys)
    await sleep(1_500)
    const stoppingAt = performance.now()
    await pg!.stop()
    const downAt = performance.now()
    await sleep(DOWN_MS)
    await pg!.start()
    const upAt = performance.now()
    // At once, before serve has its LISTEN connection back: the NOTIFY of this change reaches
    // nobody, and serve must enforce it all the same (it re-reads keys until it hears again).
    const committedAt = await world.revokeVictim()
    const enforcedMs = await refusedAfter(tally, poller, world.victim, committedAt)
    const readyMs = await untilReady(serve.url, 15_000)
    await sleep(2_000)
    await load.stop()

    const errors = tally.answers.filter((a) => a.status !== 200)
    const lastError = Math.max(...errors.map((a) => a.doneAt))
    const during = tally.answers.filter((a) => a.sentAt >= stoppingAt && a.sentAt < upAt)
    const firstError = Math.min(...errors.map((a) => a.sentAt))
    const slowest = Math.max(...tally.answers.map((a) => a.doneAt - a.sentAt))
    note('postgres restart', {
      requests: tally.answers.length,
      answers: tally.summary(),
      shutdownMs: Math.round(downAt - stoppingAt),
      downMs: Math.round(upAt - downAt),
      requestsWhileDown: during.length,
      errorShareWhileDown: Number((during.filter((a) => a.status !== 200).length / Math.max(1, during.length)).toFixed(3)),
      errorShareOverall: Number((errors.length / tally.answers.length).toFixed(3)),
      firstErrorAfterStopMs: Math.round(firstError - stoppingAt),
      lastErrorAfterUpMs: Math.round(lastError - upAt),
      slowestAnswerMs: Math.round(slowest),
      firstRefusalAfterCommitMs: Number(enforcedMs.toFixed(1)),
      lastAcceptedAfterCommitMs: Number(lastAcceptedMs(tally, committedAt).toFixed(1)),
      readyAfterUpMs: Math.round(readyMs + (committedAt - upAt) + enforcedMs),
    })
    // Every request answered, and every error a 503 in the API's error shape.
    expect(new Set(errors.map((a) => `${a.status} ${a.code}`)), JSON.stringify(tally.summary())).to.satisfy((s: Set<string>) => [...s].every((x) => x === '503 CONNECTION_ERROR'))
    // Answered promptly all the same: no request waits out the pool's reconnection backoff.
    expect(slowest, 'slowest answer (ms)').to.be.below(2_500)
    // Errors only while PostgreSQL is away: none before the stop began, none 1 s after it is back.
    expect(firstError, 'first error (ms after the stop began)').to.be.at.least(stoppingAt)
    expect(lastError - upAt, 'last error (ms after PostgreSQL is back)').to.be.below(1_000)
    // The first refusal's answer needs a database read through a pool that is reconnecting
    // (serve cannot trust its cache until it hears again): bounded, but not by 100 ms.
    expect(enforcedMs, 'first REVOKED answer (ms after commit)').to.be.below(1_000)
    expect(acceptedAfterRevocation(tally, committedAt), 'answers accepting the victim > 100 ms after the revocation committed').to.equal(0)
    expect(readyMs, '/readyz 200 again').to.be.below(5_000)
    expect(tally.answers.filter((a) => a.sentAt > upAt + 1_000).every((a) => a.status === 200), 'all answered 200 after recovery').to.equal(true)
    expect(serve.child.exitCode, serve.stderr()).to.equal(null)

    expect(await serve.stop('SIGTERM'), serve.stderr()).to.equal(0)
    expect(serve.stderr()).not.to.match(/unexpected error|INTERNAL/)
    await expectExactAccounting(world, tally)
  })

  it('given a momentry pool with queries waiting, when PostgreSQL restarts, then each is answered within 1.5 s of the server being back (reconnection backoff capped at 1 s)', async () => {
    const sql = connectPostgres(pg!.url())
    let running = true
    const waits: { sentAt: number; doneAt: number }[] = []
    const worker = async () => {
      while (running) {
        const sentAt = performance.now()
        await sql`select 1`.catch(() => {})
        waits.push({ sentAt, doneAt: performance.now() })
        await sleep(2)
      }
    }
    try {
      const workers = Array.from({ length: 6 }, worker)
      await sleep(500)
      await pg!.stop()
      await sleep(DOWN_MS)
      await pg!.start()
      const upAt = performance.now()
      await sleep(3_000)
      running = false
      await Promise.all(workers)
      const lastDone = Math.max(...waits.filter((w) => w.sentAt < upAt).map((w) => w.doneAt))
      note('pool reconnection', { queries: waits.length, lastAnsweredAfterUpMs: Math.round(lastDone - upAt) })
      // postgres.js's own backoff (up to 20 s) left queries waiting 13–21 s after a 3 s restart.
      expect(lastDone - upAt, 'the last query sent while down answered (ms after up)').to.be.below(1_500)
    } finally {
      await sql.end({ timeout: 1 })
    }
  })
})
