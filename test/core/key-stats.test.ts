import { expect } from 'chai'

import { createKey } from '../../src/core/api-keys/create-key.js'
import { keyStats } from '../../src/core/api-keys/key-stats.js'
import { fixedClock } from '../../src/core/clock.js'
import type { Sql } from '../../src/core/db/connect.js'
import { renderStats } from '../../src/ui/keys.js'
import { openTestSql, redisTestContext, testContext, truncateAll } from '../helpers/db.js'

const NOW = '2031-03-10T12:00:00.000Z'

/** `api-key stats` beyond the type × status counts (those are in api-keys.test.ts). */
describe('api-key stats (core)', () => {
  let sql: Sql
  let keyId: string

  before(() => {
    sql = openTestSql()
  })
  after(async () => {
    await truncateAll(sql)
    await sql.end()
  })

  beforeEach(async () => {
    await truncateAll(sql)
    keyId = (await createKey(testContext(sql, { clock: fixedClock('2031-03-01T00:00:00Z') }), { name: 'svc', type: 'service' })).key.id
  })

  const usage = async (minute: string, ok: number, fail: number) => {
    await sql`insert into key_usage_minute (key_id, minute, ok_count, fail_count) values (${keyId}, ${minute}, ${ok}, ${fail})`
  }
  const anomaly = async (n: number, type: string, status: string) => {
    await sql`
      insert into api_key_anomalies (anomaly_id, key_id, anomaly_type, severity, observed, threshold, window_seconds, first_seen_at, last_seen_at, status)
      values (${`anom_test${n}`}, ${keyId}, ${type}, 'high', 10, 5, 60, ${NOW}, ${NOW}, ${status})`
  }

  it('given usage around the 24 h boundary, when counting, then the minutes from now − 24 h up to now count, older and later ones do not', async () => {
    await usage('2031-03-09T11:59:00Z', 100, 100)
    await usage('2031-03-09T12:00:00Z', 2, 1)
    await usage('2031-03-10T03:00:00Z', 7, 4)
    await usage('2031-03-10T12:00:00Z', 3, 0)
    await usage('2031-03-10T12:01:00Z', 1000, 1000)
    const stats = await keyStats(testContext(sql, { clock: fixedClock(NOW), env: { REDIS_URL: '' } }))
    expect(stats).to.deep.include({ validationsLast24h: 17, failuresLast24h: 5 })
  })

  it('given open, acknowledged and resolved anomalies, when counting, then the open and acknowledged ones are open', async () => {
    await anomaly(1, 'high_request_rate', 'open')
    await anomaly(2, 'high_error_rate', 'acknowledged')
    await anomaly(3, 'multiple_ips', 'resolved')
    const stats = await keyStats(testContext(sql, { clock: fixedClock(NOW), env: { REDIS_URL: '' } }))
    expect(stats.openAnomalies).to.equal(2)
  })

  it('given lockout windows in PostgreSQL (no Redis), when counting, then the IPs at their limit with time left are listed, by address', async () => {
    await sql`insert into ip_failures (ip, attempts, window_ends) values
      ('203.0.113.7', 5, now() + interval '10 minutes'),
      ('203.0.113.5', 9, now() + interval '5 minutes'),
      ('203.0.113.8', 4, now() + interval '10 minutes'),
      ('203.0.113.6', 9, now() - interval '1 minute')`
    const stats = await keyStats(testContext(sql, { clock: fixedClock(NOW), env: { REDIS_URL: '' } }))
    expect(stats.lockedOutIps).to.equal(2)
    expect(stats.lockedOut!.map((l) => l.ip)).to.deep.equal(['203.0.113.5', '203.0.113.7'])
    expect(stats.lockedOut![0]!.retryAfterSeconds).to.be.within(290, 300)
    expect(stats.lockedOut![1]!.retryAfterSeconds).to.be.within(590, 600)
    const text = renderStats(stats)
    expect(text).to.include('locked-out IPs: 2')
    expect(text).to.match(/^ {2}203\.0\.113\.5 locked for \d+s more$/m)
    expect(text).to.match(/^ {2}203\.0\.113\.7 locked for \d+s more$/m)
    expect(text).not.to.include('203.0.113.8')
  })

  it('given lockout counters in Redis, when counting, then the IPs at their limit are listed; Redis configured but unreachable is unknown, not zero', async () => {
    const core = redisTestContext(sql, { clock: fixedClock(NOW) })
    const redis = (await core.ctx.redis())!
    const prefix = `${core.ctx.config.redisPrefix}lockout:`
    const keys = [`${prefix}198.51.100.4`, `${prefix}198.51.100.9`]
    try {
      // Other tests of this process may have left lockouts under the same prefix: start from none.
      for await (const left of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) if (left.length) await redis.del(left)
      await Promise.all([redis.set(keys[0]!, '5'), redis.set(keys[1]!, '4')])
      await Promise.all(keys.map((k) => redis.pExpire(k, 120_000)))
      const stats = await keyStats(core.ctx)
      expect(stats.lockedOutIps).to.equal(1)
      expect(stats.lockedOut!.map((l) => l.ip)).to.deep.equal(['198.51.100.4'])
      expect(stats.lockedOut![0]!.retryAfterSeconds).to.be.within(110, 120)
    } finally {
      await redis.del(keys)
      await core.close()
    }
    // REDIS_URL is set for the run, but this context has no connection to it.
    const unknown = await keyStats(testContext(sql, { clock: fixedClock(NOW) }))
    expect(unknown).to.deep.include({ lockedOutIps: null, lockedOut: null })
    expect(renderStats(unknown)).to.include('locked-out IPs: unknown (Redis unreachable)')
  })
})
