// Redis stopped for 10 s under validation load, then started again (empty), with a real
// `momentry serve` on a private PostgreSQL and a private Redis. Validation is decided from
// memory and PostgreSQL meanwhile; nothing of it depends on Redis being there.
import { expect } from 'chai'
import { createClient } from '@redis/client'

import type { ServeProcess } from '../helpers/serve.js'
import { startServe } from '../helpers/serve.js'
import type { Pool } from 'undici'
import { connect, refusedAfter, startLoad, Tally } from './load.js'
import type { PrivatePostgres, PrivateRedis } from './private-servers.js'
import { startPrivatePostgres, startPrivateRedis } from './private-servers.js'
import type { World } from './world.js'
import { acceptedAfterRevocation, expectExactAccounting, lastAcceptedMs, makeWorld } from './world.js'
import { note, untilReady } from './report.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const OUTAGE_MS = 10_000

describe('fault: Redis stopped 10 s and started again under validation load', function () {
  this.timeout(120_000)
  let pg: PrivatePostgres | undefined
  let redis: PrivateRedis | undefined
  let world: World | undefined
  let serve: ServeProcess | undefined
  const pools: Pool[] = []
  before(async () => {
    pg = await startPrivatePostgres()
  })
  after(async () => {
    await Promise.all(pools.map((p) => p.destroy()))
    await serve?.stop('SIGKILL')
    await world?.close()
    await redis?.stop()
    await pg?.close()
  })

  it('given serve under load, when Redis is away 10 s and comes back, then every request is answered 200, a revocation made meanwhile is enforced within 100 ms, serve recovers by itself, and usage and audit are exact', async () => {
    redis = await startPrivateRedis()
    world = await makeWorld(pg!, redis.url, 'redis')
    serve = await startServe(world.env)
    const pool = connect(serve.url, 4)
    const poller = connect(serve.url, 1)
    pools.push(pool, poller)
    const tally = new Tally()
    for (const k of world.keys) expect((await tally.verify(pool, k)).valid, k.label).to.equal(true)
    expect(await untilReady(serve.url, 5_000)).to.be.below(5_000)

    const load = startLoad(tally, pool, world.keys)
    await sleep(1_500)
    const stoppedAt = performance.now()
    await redis.stop()
    await sleep(OUTAGE_MS / 2)
    const committedAt = await world.revokeVictim()
    const enforcedMs = await refusedAfter(tally, poller, world.victim, committedAt)
    await sleep(Math.max(0, stoppedAt + OUTAGE_MS - performance.now()))
    await redis.start()
    const restartedAt = performance.now()
    const recoveredMs = await untilReady(serve.url, 10_000)
    await sleep(1_500)
    await load.stop()
    const endedAt = performance.now()

    // Redis is written to again: usage counters (it came back empty) and failure counting.
    const client = createClient({ url: redis.url })
    await client.connect()
    const keys = await client.keys(`${world.env.MOMENTRY_REDIS_PREFIX}*`)
    await client.close()

    const errors = tally.answers.filter((a) => a.status !== 200)
    note('redis outage', {
      requests: tally.answers.length,
      duringOutage: tally.answers.filter((a) => a.sentAt >= stoppedAt && a.sentAt < restartedAt).length,
      answers: tally.summary(),
      firstRefusalAfterCommitMs: Number(enforcedMs.toFixed(1)),
      lastAcceptedAfterCommitMs: Number(lastAcceptedMs(tally, committedAt).toFixed(1)),
      readyAfterRestartMs: Math.round(recoveredMs),
      requestsPerSecond: Math.round(tally.answers.length / ((endedAt - stoppedAt + 1_500) / 1000)),
    })
    expect(errors, JSON.stringify(tally.summary())).to.deep.equal([])
    expect(enforcedMs, 'first REVOKED answer (ms after commit)').to.be.below(100)
    expect(acceptedAfterRevocation(tally, committedAt), 'answers accepting the victim > 100 ms after the revocation committed').to.equal(0)
    expect(recoveredMs, '/readyz 200 again after Redis restarted (ms)').to.be.below(5_000)
    expect(keys.some((k) => k.includes(':usage:')), `usage counters written to Redis again: ${keys.join(' ')}`).to.equal(true)
    expect(keys.some((k) => k.includes('lockout')), `failures counted in Redis again: ${keys.join(' ')}`).to.equal(true)
    expect(serve.child.exitCode, serve.stderr()).to.equal(null)

    expect(await serve.stop('SIGTERM'), serve.stderr()).to.equal(0)
    expect(serve.stderr()).not.to.match(/unexpected error|INTERNAL/)
    await expectExactAccounting(world, tally)
  })
})
