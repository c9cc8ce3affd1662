import { expect } from 'chai'

import { createKey } from '../../src/core/api-keys/create-key.js'
import { fixedClock } from '../../src/core/clock.js'
import type { CoreContext } from '../../src/core/context.js'
import { recordUsage } from '../../src/core/usage/record-usage.js'
import { addWebhook } from '../../src/core/webhooks/webhooks.js'
import { openTestSql, redisTestContext, truncateAll } from '../helpers/db.js'
import type { FakeServer } from '../helpers/fake-http.js'
import { send, startFake } from '../helpers/fake-http.js'

const NOON = '2026-11-20T12:00:30Z'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('anomaly.detected webhooks: one when an anomaly opens, one more each time its severity rises', () => {
  const sql = openTestSql()
  let receiver: FakeServer
  let close: () => Promise<void>
  beforeEach(async () => {
    await truncateAll(sql)
    receiver = await startFake((_req, res) => send(res, 204))
  })
  afterEach(async () => {
    await close()
    await receiver.close()
  })
  after(() => sql.end())

  /** A started context, as `serve` runs (detection on each usage flush, the outbox drained every second). */
  async function started(): Promise<CoreContext> {
    const handle = redisTestContext(sql, { clock: fixedClock(NOON), env: { ANOMALY_MAX_REQUESTS_PER_MINUTE: '10', ANOMALY_QUIET_HOURS: '00-00' } })
    close = () => handle.close()
    await handle.start()
    return handle.ctx
  }

  /** Record `n` validations of the key, flush them (which runs detection) and return the detections' severities. */
  async function use(ctx: CoreContext, keyId: string, n: number): Promise<string[]> {
    const seen: string[] = []
    const off = ctx.bus.on('anomaly.detected', (e) => void seen.push(e.alert.severity))
    for (let i = 0; i < n; i++) recordUsage(ctx, { keyId, ok: true, ip: '192.0.2.1' })
    await ctx.validation.usage.flush()
    await ctx.bus.drain()
    off()
    return seen
  }

  const queued = async () =>
    (await sql`select payload from webhook_deliveries where event_type = 'anomaly.detected' order by created_at, id`).map((r) => r.payload as { type: string; data: any })

  it('given an open anomaly detected again and again, then exactly one delivery; when its severity rises, a second, with the severity before it', async () => {
    const ctx = await started()
    await addWebhook(ctx, { url: `${receiver.url}/hook`, events: ['anomaly.detected'] })
    const { key } = await createKey(ctx, { name: 'billing-export', type: 'service' })

    expect(await use(ctx, key.id, 11)).to.deep.equal(['low']) // 11 in the minute over 10: opens it
    for (let i = 0; i < 3; i++) expect(await use(ctx, key.id, 1)).to.deep.equal(['low']) // repeats: 12, 13, 14
    expect(await queued()).to.have.length(1)

    expect(await use(ctx, key.id, 1)).to.deep.equal(['medium']) // 15 = 1.5× the threshold
    expect(await use(ctx, key.id, 1)).to.deep.equal(['medium']) // a repeat at the same severity
    const payloads = await queued()
    expect(payloads).to.have.length(2)
    expect(payloads.map((p) => [p.type, p.data.created, p.data.previousSeverity, p.data.alert.severity, p.data.alert.observed])).to.deep.equal([
      ['anomaly.detected', true, null, 'low', 11],
      ['anomaly.detected', false, 'low', 'medium', 15],
    ])
    expect(payloads[1]!.data.alert).to.include({ keyId: key.id, keyName: 'billing-export', type: 'high_request_rate', threshold: 10, windowSeconds: 60 })
    expect(payloads[0]!.data.alert.id).to.equal(payloads[1]!.data.alert.id) // one anomaly

    // serve's outbox drain sends them: two requests reach the receiver, no more.
    for (let i = 0; i < 50 && receiver.seen.length < 2; i++) await sleep(100)
    await sleep(1200)
    expect(receiver.seen.map((r) => JSON.parse(r.body).data.alert.severity)).to.deep.equal(['low', 'medium'])
  })

  it('given an anomaly resolved, when the key trips the detector again, then the new anomaly is announced again', async () => {
    const ctx = await started()
    await addWebhook(ctx, { url: `${receiver.url}/hook`, events: ['anomaly.detected'] })
    const { key } = await createKey(ctx, { name: 'billing-export', type: 'service' })
    await use(ctx, key.id, 11)
    await sql`update api_key_anomalies set status = 'resolved', resolved_at = now(), resolved_by = 'test'`
    await use(ctx, key.id, 1)
    expect((await queued()).map((p) => p.data.created)).to.deep.equal([true, true])
  })
})
