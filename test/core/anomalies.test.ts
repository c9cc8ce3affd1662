import { expect } from 'chai'
import fc from 'fast-check'
import { createClient } from '@redis/client'

import { detectErrorRate, detectMultipleIps, detectRequestRate, detectUnusualTime, severityFor } from '../../src/core/anomalies/detectors.js'
import { acknowledgeAnomaly, resolveAnomaly, showAnomaly } from '../../src/core/anomalies/handle-anomaly.js'
import { listAnomalies } from '../../src/core/anomalies/list-anomalies.js'
import { createKey } from '../../src/core/api-keys/create-key.js'
import { fixedClock } from '../../src/core/clock.js'
import type { CoreContext } from '../../src/core/context.js'
import { ConflictError } from '../../src/core/errors.js'
import { recordUsage } from '../../src/core/usage/record-usage.js'
import { openTestSql, redisTestContext, truncateAll } from '../helpers/db.js'

const NOON = '2026-11-20T12:00:30Z'

describe('anomaly detectors (pure)', () => {
  it('given counts at the threshold, then nothing; one past it, then a detection', () => {
    expect(detectRequestRate(1000, 1000)).to.equal(undefined)
    expect(detectRequestRate(1001, 1000)).to.include({ type: 'high_request_rate', severity: 'low', observed: 1001 })
    expect(detectMultipleIps(5, 5)).to.equal(undefined)
    expect(detectMultipleIps(6, 5)).to.include({ type: 'multiple_ips', observed: 6 })
    expect(detectErrorRate(10, 10, 0.5, 20, 300)).to.equal(undefined) // exactly 50 %
    expect(detectErrorRate(9, 11, 0.5, 20, 300)).to.include({ type: 'high_error_rate', observed: 0.55 })
    expect(detectErrorRate(0, 19, 0.5, 20, 300)).to.equal(undefined) // below the minimum number of requests
  })

  it('given any observation, then severity grows with how far past the threshold it is', () => {
    const rank = { low: 0, medium: 1, high: 2, critical: 3 }
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 0, max: 100_000 }), (t, a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a]
        return rank[severityFor(lo + t, t)] <= rank[severityFor(hi + t, t)]
      }),
    )
    expect([severityFor(1.2, 1), severityFor(1.5, 1), severityFor(2, 1), severityFor(4, 1)]).to.deep.equal(['low', 'medium', 'high', 'critical'])
    expect(detectErrorRate(0, 40, 0.5, 20, 300)!.severity).to.equal('critical')
  })

  it('given no history, then use inside the quiet hours is unusual and outside is not (also across midnight)', () => {
    const none = { total: 0, days: 0, byHour: Array(24).fill(0) }
    expect(detectUnusualTime(3, none, { from: 0, to: 6 })).to.include({ type: 'unusual_time', severity: 'low' })
    expect(detectUnusualTime(6, none, { from: 0, to: 6 })).to.equal(undefined)
    expect(detectUnusualTime(23, none, { from: 22, to: 5 })).to.not.equal(undefined)
    expect(detectUnusualTime(12, none, { from: 22, to: 5 })).to.equal(undefined)
  })

  it('given a history of daytime use, then an hour it never saw is unusual even outside the quiet hours', () => {
    const byHour = Array(24).fill(0)
    byHour[10] = 150
    const history = { total: 150, days: 8, byHour }
    expect(detectUnusualTime(15, history, { from: 0, to: 6 })).to.include({ type: 'unusual_time', severity: 'medium' })
    expect(detectUnusualTime(10, history, { from: 0, to: 6 })).to.equal(undefined)
  })
})

describe('anomaly detection engine (real PostgreSQL and Redis)', () => {
  const sql = openTestSql()
  const opened: { close(): Promise<void> }[] = []
  beforeEach(() => truncateAll(sql))
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((c) => c.close()))
  })
  after(() => sql.end())

  /** A started (long-running) context, as in `serve`: each usage flush runs detection. */
  async function setup(env: Record<string, string> = {}, at = NOON) {
    const clock = fixedClock(at)
    const handle = redisTestContext(sql, { clock, env: { ANOMALY_QUIET_HOURS: '00-06', ...env } })
    opened.push(handle)
    await handle.start()
    return { ctx: handle.ctx, clock }
  }

  /** Record usage, flush it (which runs the detectors), and return the alerts that flush raised. */
  async function use(ctx: CoreContext, keyId: string, n: number, options: { ok?: boolean; ips?: string[] } = {}) {
    const alerts: any[] = []
    const off = ctx.bus.on('anomaly.detected', (e) => void alerts.push(e.alert))
    for (let i = 0; i < n; i++) recordUsage(ctx, { keyId, ok: options.ok ?? true, ip: options.ips?.[i % options.ips.length] ?? '192.0.2.1' })
    await ctx.validation.usage.flush()
    await ctx.bus.drain()
    off()
    return alerts
  }

  it('given exactly the per-minute maximum, then nothing; one more, then a high_request_rate anomaly', async () => {
    const { ctx } = await setup({ ANOMALY_MAX_REQUESTS_PER_MINUTE: '10' })
    const { key } = await createKey(ctx, { name: 'busy', type: 'service' })
    expect(await use(ctx, key.id, 10)).to.deep.equal([])
    const [alert] = await use(ctx, key.id, 1)
    expect(alert).to.include({ keyId: key.id, keyName: 'busy', type: 'high_request_rate', severity: 'low', observed: 11, threshold: 10, windowSeconds: 60 })
  })

  it('given failures just above the error rate with enough requests, then high_error_rate; at the rate, nothing', async () => {
    const { ctx } = await setup({ ANOMALY_MIN_REQUESTS: '20' })
    const { key } = await createKey(ctx, { name: 'flaky', type: 'service' })
    await use(ctx, key.id, 10, { ok: true })
    expect(await use(ctx, key.id, 10, { ok: false })).to.deep.equal([])
    const [alert] = await use(ctx, key.id, 1, { ok: false })
    expect(alert).to.include({ type: 'high_error_rate', threshold: 0.5, windowSeconds: 300 })
    expect(alert!.observed).to.be.closeTo(11 / 21, 0.001)
  })

  it('given failures outside the error window, then they do not count', async () => {
    const { ctx, clock } = await setup({ ANOMALY_MIN_REQUESTS: '20' })
    const { key } = await createKey(ctx, { name: 'old-failures', type: 'service' })
    expect((await use(ctx, key.id, 30, { ok: false })).map((a) => a.type)).to.deep.equal(['high_error_rate'])
    clock.advance(6 * 60_000)
    expect((await use(ctx, key.id, 20, { ok: true })).map((a) => a.type)).to.deep.equal([])
  })

  it('given more distinct IPs in the hour than allowed, then multiple_ips; at the limit, nothing', async () => {
    const { ctx } = await setup({ ANOMALY_MAX_IPS_PER_HOUR: '5' })
    const { key } = await createKey(ctx, { name: 'shared', type: 'service' })
    expect(await use(ctx, key.id, 5, { ips: ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5'] })).to.deep.equal([])
    const [alert] = await use(ctx, key.id, 1, { ips: ['198.51.100.9'] })
    expect(alert).to.include({ type: 'multiple_ips', observed: 6, threshold: 5 })
  })

  it('given a key without history used at 03:00 (quiet hours 00-06), then unusual_time; at noon, nothing', async () => {
    const tz = process.env.TZ
    process.env.TZ = 'UTC'
    try {
      const night = await setup({}, '2026-11-20T03:10:00Z')
      const { key } = await createKey(night.ctx, { name: 'night-owl', type: 'user' })
      expect((await use(night.ctx, key.id, 1))[0]).to.include({ type: 'unusual_time', observed: 3, severity: 'low' })
      const day = await setup({}, NOON)
      expect(await use(day.ctx, key.id, 1)).to.deep.equal([])
    } finally {
      process.env.TZ = tz
    }
  })

  it('given a repeat of an open anomaly, then its count goes up instead of adding a row; after resolve a new one opens', async () => {
    const { ctx } = await setup({ ANOMALY_MAX_REQUESTS_PER_MINUTE: '2' })
    const { key } = await createKey(ctx, { name: 'repeat', type: 'service' })
    const [first] = await use(ctx, key.id, 3)
    const [second] = await use(ctx, key.id, 10)
    expect(second!.id).to.equal(first!.id)
    const rows = await sql`select count, severity from api_key_anomalies`
    expect(rows).to.have.length(1)
    expect(rows[0]).to.deep.equal({ count: 2, severity: 'critical' }) // 13 in the minute is over 4× the threshold of 2
    await acknowledgeAnomaly(ctx, first!.id)
    expect((await use(ctx, key.id, 1))[0]!.id).to.equal(first!.id) // acknowledged still counts
    await resolveAnomaly(ctx, first!.id, { note: 'load test' })
    const [third] = await use(ctx, key.id, 1)
    expect(third!.id).to.not.equal(first!.id)
    const audit = await sql`select action from api_key_audit_log where action like 'anomaly.%' order by seq`
    expect(audit.map((a) => a.action)).to.deep.equal(['anomaly.detect', 'anomaly.acknowledge', 'anomaly.resolve', 'anomaly.detect'])
  })

  it('given a detection, then the alert arrives on the Redis channel with the documented fields', async () => {
    const { ctx } = await setup({ ANOMALY_MAX_REQUESTS_PER_MINUTE: '1' })
    const { key } = await createKey(ctx, { name: 'alerting', type: 'service' })
    const sub = createClient({ url: process.env.REDIS_URL })
    await sub.connect()
    const got = new Promise<any>((resolve) => void sub.subscribe(`${ctx.config.redisPrefix}anomaly:alerts`, (m) => resolve(JSON.parse(m))))
    await new Promise((r) => setTimeout(r, 50))
    try {
      await use(ctx, key.id, 2)
      const alert = await got
      expect(Object.keys(alert).sort()).to.deep.equal(['detectedAt', 'id', 'keyId', 'keyName', 'observed', 'severity', 'threshold', 'type', 'windowSeconds'])
      expect(alert).to.include({ keyId: key.id, keyName: 'alerting', type: 'high_request_rate', observed: 2, threshold: 1, windowSeconds: 60, detectedAt: new Date(NOON).toISOString() })
      const state = await sub.duplicate().connect().then(async (c) => {
        const s = await c.hGetAll(`${ctx.config.redisPrefix}anomaly:state:${key.id}`)
        await c.close()
        return s
      })
      expect(JSON.parse(state.high_request_rate!)).to.include({ id: alert.id })
    } finally {
      await sub.close()
    }
  })

  it('given ANOMALY_AUTO_DISABLE=critical, then a critical anomaly disables the key (audited, reversible) and a high one does not', async () => {
    const { ctx } = await setup({ ANOMALY_MAX_REQUESTS_PER_MINUTE: '10', ANOMALY_AUTO_DISABLE: 'critical' })
    const high = await createKey(ctx, { name: 'high', type: 'service' })
    const critical = await createKey(ctx, { name: 'critical', type: 'service' })
    expect((await use(ctx, high.key.id, 25))[0].severity).to.equal('high') // 2.5×
    expect((await use(ctx, critical.key.id, 45))[0].severity).to.equal('critical') // 4.5×
    const rows = await sql`select key_id, enabled, disabled_reason from api_keys order by id`
    expect(rows.map((r) => [r.key_id, r.enabled])).to.deep.equal([
      [high.key.id, true],
      [critical.key.id, false],
    ])
    expect(rows[1]!.disabled_reason).to.match(/^auto-disabled: critical high_request_rate \(anm_/)
    const [audit] = await sql`select actor from api_key_audit_log where action = 'key.disable'`
    expect(audit!.actor).to.equal('momentry:anomaly')
  })

  it('given anomalies, then list filters by key, type, severity and status, and show/ack/resolve refuse what they must', async () => {
    const { ctx } = await setup({ ANOMALY_MAX_REQUESTS_PER_MINUTE: '1', ANOMALY_MAX_IPS_PER_HOUR: '1' })
    const a = await createKey(ctx, { name: 'a', type: 'service' })
    const b = await createKey(ctx, { name: 'b', type: 'service' })
    await use(ctx, a.key.id, 2, { ips: ['192.0.2.1', '192.0.2.2'] })
    await use(ctx, b.key.id, 2)
    expect((await listAnomalies(ctx, { keyId: a.key.id })).map((x) => x.type).sort()).to.deep.equal(['high_request_rate', 'multiple_ips'])
    expect((await listAnomalies(ctx, { type: 'multiple_ips' })).map((x) => x.keyId)).to.deep.equal([a.key.id])
    const [one] = await listAnomalies(ctx, { keyId: b.key.id })
    expect((await showAnomaly(ctx, one!.id)).status).to.equal('open')
    await resolveAnomaly(ctx, one!.id)
    expect((await listAnomalies(ctx, { status: 'resolved' })).map((x) => x.id)).to.deep.equal([one!.id])
    let error: unknown
    try {
      await acknowledgeAnomaly(ctx, one!.id)
    } catch (e) {
      error = e
    }
    expect(error).to.be.instanceOf(ConflictError)
  })
})
