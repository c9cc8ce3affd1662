import { expect } from 'chai'
import fc from 'fast-check'

import type { Sql } from '../../src/core/db/connect.js'
import { connectPostgres } from '../../src/core/db/connect.js'
import { silentLogger } from '../../src/core/log.js'
import type { Redis } from '../../src/core/redis.js'
import { closeRedis, connectRedis } from '../../src/core/redis.js'
import { FOLDED_SOURCE, MAX_FAILURE_BUCKETS, UsageRecorder } from '../../src/core/usage/usage-recorder.js'
import { openTestSql, testDatabaseUrl, truncateAll } from '../helpers/db.js'

const T0 = Date.parse('2031-06-15T08:30:00.000Z')
const MINUTE = 60_000

interface Row {
  key_id: string
  minute: string
  ok: number
  fail: number
}

describe('UsageRecorder (real PostgreSQL and Redis)', () => {
  let sql: Sql
  let redis: Redis
  const prefix = `${process.env.MOMENTRY_REDIS_PREFIX}usage-test:`

  before(async () => {
    sql = openTestSql()
    redis = await connectRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', silentLogger)
  })

  after(async () => {
    await sql.end()
    await closeRedis(redis)
  })

  beforeEach(async () => {
    await truncateAll(sql)
    // Usage is only kept for ids that are keys: three bare key rows to count against.
    await sql`
      insert into api_keys (key_id, key_hash, key_stub, name, key_type, created_at, created_by)
      select id, decode(md5(id) || md5(id || 'x'), 'hex'), 'mtry_svc_use', id, 'service', now(), 'test'
      from unnest(array['key_aaaaaaaaaaaaaaaa', 'key_bbbbbbbbbbbbbbbb', 'key_cccccccccccccccc']) as id`
  })

  const rows = async (): Promise<Row[]> =>
    (await sql`select key_id, minute, ok_count as ok, fail_count as fail from key_usage_minute order by key_id, minute`).map((r) => ({
      key_id: r.key_id as string,
      minute: (r.minute as Date).toISOString(),
      ok: r.ok as number,
      fail: r.fail as number,
    }))

  const recorder = (getSql: () => Sql = () => sql) => new UsageRecorder({ sql: getSql, redis: () => redis, prefix, log: silentLogger })

  const failureRows = async () =>
    (await sql`select minute, code, ip, key_id, count from validation_failure_minute order by minute, code, ip, key_id`).map((r) => [(r.minute as Date).toISOString(), r.code, r.ip, r.key_id, r.count])

  it('given events for two keys across two minutes, when flushed, then one row per key and minute holds the counts, Redis has the counters, and nothing is pending', async () => {
    const r = recorder()
    const at = (ms: number) => T0 + ms
    r.record({ keyId: 'key_aaaaaaaaaaaaaaaa', ip: '192.0.2.1', ok: true, atMs: at(1_000) })
    r.record({ keyId: 'key_aaaaaaaaaaaaaaaa', ip: '192.0.2.2', ok: false, atMs: at(2_000) })
    r.record({ keyId: 'key_bbbbbbbbbbbbbbbb', ok: true, atMs: at(3_000) })
    r.record({ keyId: 'key_aaaaaaaaaaaaaaaa', ip: '192.0.2.1', ok: true, atMs: at(MINUTE + 5_000) })
    expect(r.pending).to.equal(3)
    await r.flush()
    expect(r.pending).to.equal(0)
    expect(await rows()).to.deep.equal([
      { key_id: 'key_aaaaaaaaaaaaaaaa', minute: new Date(T0).toISOString(), ok: 1, fail: 1 },
      { key_id: 'key_aaaaaaaaaaaaaaaa', minute: new Date(T0 + MINUTE).toISOString(), ok: 1, fail: 0 },
      { key_id: 'key_bbbbbbbbbbbbbbbb', minute: new Date(T0).toISOString(), ok: 1, fail: 0 },
    ])
    expect(await redis.hGetAll(`${prefix}usage:key_aaaaaaaaaaaaaaaa:${T0 / MINUTE}`)).to.deep.equal({ ok: '1', fail: '1' })
    expect(await redis.pfCount(`${prefix}ips:key_aaaaaaaaaaaaaaaa:${Math.floor(T0 / 3_600_000)}`)).to.equal(2)
  })

  it('given PostgreSQL refusing a flush, when more events arrive and the next flush succeeds, then every event is counted exactly once', async () => {
    const broken = connectPostgres(testDatabaseUrl().replace(/\/momentry_test_[^/?]+/, '/momentry_no_such_database'), { max: 1 })
    let current = broken
    const r = recorder(() => current)
    try {
      r.record({ keyId: 'key_aaaaaaaaaaaaaaaa', ok: true, atMs: T0 + 1_000 })
      r.record({ keyId: 'key_aaaaaaaaaaaaaaaa', ok: false, atMs: T0 + 2_000 })
      await r.flush()
      expect(r.pending, 'kept after the failed write').to.equal(1)
      r.record({ keyId: 'key_aaaaaaaaaaaaaaaa', ok: true, atMs: T0 + 3_000 })
      r.record({ keyId: 'key_cccccccccccccccc', ok: true, atMs: T0 + 4_000 })
      current = sql
      await r.flush()
      expect(await rows()).to.deep.equal([
        { key_id: 'key_aaaaaaaaaaaaaaaa', minute: new Date(T0).toISOString(), ok: 2, fail: 1 },
        { key_id: 'key_cccccccccccccccc', minute: new Date(T0).toISOString(), ok: 1, fail: 0 },
      ])
      expect(r.pending).to.equal(0)
    } finally {
      await broken.end({ timeout: 1 })
    }
  })

  it('given any sequence of events flushed at any points, then the table holds exactly the per-key, per-minute sums', async () => {
    const event = fc.record({
      keyId: fc.constantFrom('key_aaaaaaaaaaaaaaaa', 'key_bbbbbbbbbbbbbbbb', 'key_cccccccccccccccc'),
      offset: fc.integer({ min: 0, max: 3 * MINUTE - 1 }),
      ok: fc.boolean(),
      flushAfter: fc.boolean(),
    })
    await fc.assert(
      fc.asyncProperty(fc.array(event, { maxLength: 40 }), async (events) => {
        await sql`truncate key_usage_minute`
        const r = recorder()
        const expected = new Map<string, Row>()
        for (const e of events) {
          const at = T0 + e.offset
          r.record({ keyId: e.keyId, ok: e.ok, atMs: at })
          const minute = new Date(at - (at % MINUTE)).toISOString()
          const row = expected.get(`${e.keyId} ${minute}`) ?? { key_id: e.keyId, minute, ok: 0, fail: 0 }
          if (e.ok) row.ok++
          else row.fail++
          expected.set(`${e.keyId} ${minute}`, row)
          if (e.flushAfter) await r.flush()
        }
        await r.flush()
        const want = [...expected.values()].sort((a, b) => (a.key_id + a.minute < b.key_id + b.minute ? -1 : 1))
        expect(await rows()).to.deep.equal(want)
      }),
      { numRuns: 25 },
    )
  })

  describe('failures by code', () => {
    const m0 = new Date(T0).toISOString()
    const m1 = new Date(T0 + MINUTE).toISOString()

    it('given refusals with and without a key, when flushed, then one failure row per minute, code, source and key holds the counts, and the key rows count them as failed', async () => {
      const r = recorder()
      const at = (ms: number) => T0 + ms
      r.record({ keyId: 'key_aaaaaaaaaaaaaaaa', ip: '192.0.2.1', ok: false, code: 'REVOKED', atMs: at(1_000) })
      r.record({ keyId: 'key_aaaaaaaaaaaaaaaa', ip: '192.0.2.1', ok: false, code: 'REVOKED', atMs: at(2_000) })
      r.record({ keyId: 'key_aaaaaaaaaaaaaaaa', ip: '192.0.2.1', ok: false, code: 'INSUFFICIENT_SCOPE', atMs: at(3_000) })
      r.record({ keyId: 'key_aaaaaaaaaaaaaaaa', ip: '192.0.2.1', ok: false, atMs: at(3_500) }) // reported by a service: no code
      r.recordFailure({ code: 'NOT_FOUND', ip: '192.0.2.9', atMs: at(4_000) })
      r.recordFailure({ code: 'NOT_FOUND', ip: '192.0.2.9', atMs: at(5_000) })
      r.recordFailure({ code: 'MALFORMED', atMs: at(6_000) })
      r.recordFailure({ code: 'BLACKLISTED', ip: '203.0.113.5', atMs: at(MINUTE + 1) })
      expect(r.pendingFailures).to.equal(5)
      await r.flush()
      expect(r.pendingFailures).to.equal(0)
      expect(await failureRows()).to.deep.equal([
        [m0, 'INSUFFICIENT_SCOPE', '192.0.2.1', 'key_aaaaaaaaaaaaaaaa', 1],
        [m0, 'MALFORMED', '', '', 1],
        [m0, 'NOT_FOUND', '192.0.2.9', '', 2],
        [m0, 'REVOKED', '192.0.2.1', 'key_aaaaaaaaaaaaaaaa', 2],
        [m1, 'BLACKLISTED', '203.0.113.5', '', 1],
      ])
      expect(await rows()).to.deep.equal([{ key_id: 'key_aaaaaaaaaaaaaaaa', minute: m0, ok: 0, fail: 4 }])
      r.recordFailure({ code: 'NOT_FOUND', ip: '192.0.2.9', atMs: at(7_000) })
      await r.flush()
      expect((await failureRows()).find((f) => f[1] === 'NOT_FOUND')).to.deep.equal([m0, 'NOT_FOUND', '192.0.2.9', '', 3])
    })

    it(`given failures from more than ${MAX_FAILURE_BUCKETS} sources in a minute, when buffered, then later new sources are folded into "${FOLDED_SOURCE}" with their code kept, and every failure is counted`, async () => {
      const r = recorder()
      const ip = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`
      const extra = 500
      for (let i = 0; i < MAX_FAILURE_BUCKETS + extra; i++) r.recordFailure({ code: i % 2 ? 'NOT_FOUND' : 'MALFORMED', ip: ip(i), atMs: T0 + 10 })
      // A source with a bucket already keeps counting under its own address.
      r.recordFailure({ code: 'MALFORMED', ip: ip(0), atMs: T0 + 20 })
      expect(r.pendingFailures).to.equal(MAX_FAILURE_BUCKETS + 2)
      await r.flush()
      const [totals] = await sql`
        select count(*)::int as rows, sum(count)::int as failures,
               sum(count) filter (where ip = ${FOLDED_SOURCE})::int as folded,
               count(*) filter (where ip = ${FOLDED_SOURCE})::int as folded_rows
        from validation_failure_minute`
      expect(totals).to.deep.equal({ rows: MAX_FAILURE_BUCKETS + 2, failures: MAX_FAILURE_BUCKETS + extra + 1, folded: extra, folded_rows: 2 })
      expect((await sql`select count from validation_failure_minute where ip = ${ip(0)}`).map((x) => x.count)).to.deep.equal([2])
    })

    it('given PostgreSQL refusing a flush, when more failures arrive and the next flush succeeds, then every failure is counted exactly once', async () => {
      const broken = connectPostgres(testDatabaseUrl().replace(/\/momentry_test_[^/?]+/, '/momentry_no_such_database'), { max: 1 })
      let current = broken
      const r = recorder(() => current)
      try {
        r.recordFailure({ code: 'NOT_FOUND', ip: '192.0.2.9', atMs: T0 + 1_000 })
        r.record({ keyId: 'key_bbbbbbbbbbbbbbbb', ip: '192.0.2.3', ok: false, code: 'EXPIRED', atMs: T0 + 2_000 })
        await r.flush()
        expect([r.pending, r.pendingFailures], 'kept after the failed write').to.deep.equal([1, 2])
        r.recordFailure({ code: 'NOT_FOUND', ip: '192.0.2.9', atMs: T0 + 3_000 })
        r.recordFailure({ code: 'RATE_LIMITED', ip: '192.0.2.9', atMs: T0 + 4_000 })
        current = sql
        await r.flush()
        expect(await failureRows()).to.deep.equal([
          [m0, 'EXPIRED', '192.0.2.3', 'key_bbbbbbbbbbbbbbbb', 1],
          [m0, 'NOT_FOUND', '192.0.2.9', '', 2],
          [m0, 'RATE_LIMITED', '192.0.2.9', '', 1],
        ])
        expect(await rows()).to.deep.equal([{ key_id: 'key_bbbbbbbbbbbbbbbb', minute: m0, ok: 0, fail: 1 }])
        expect([r.pending, r.pendingFailures]).to.deep.equal([0, 0])
      } finally {
        await broken.end({ timeout: 1 })
      }
    })

    it('given failures only (no key usage), when stopped, then they are written by the final flush', async () => {
      const r = recorder()
      r.start(60_000)
      r.recordFailure({ code: 'BLACKLISTED', ip: '203.0.113.5', atMs: T0 })
      await r.stop()
      expect(await failureRows()).to.deep.equal([[m0, 'BLACKLISTED', '203.0.113.5', '', 1]])
    })
  })
})
