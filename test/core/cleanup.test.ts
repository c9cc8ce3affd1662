import { expect } from 'chai'

import { upsertAnomaly } from '../../src/core/anomalies/repo.js'
import { resolveAnomaly } from '../../src/core/anomalies/handle-anomaly.js'
import { revokeKey } from '../../src/core/api-keys/change-key-state.js'
import { cleanup } from '../../src/core/api-keys/cleanup.js'
import { createKey } from '../../src/core/api-keys/create-key.js'
import { rotateKey } from '../../src/core/api-keys/rotate-key.js'
import { fixedClock } from '../../src/core/clock.js'
import type { CoreContext } from '../../src/core/context.js'
import type { Sql } from '../../src/core/db/connect.js'
import { UsageError } from '../../src/core/errors.js'
import { verifyKey } from '../../src/core/validation/verify-key.js'
import { auditRows, openTestSql, testContext, truncateAll } from '../helpers/db.js'

const T0 = '2031-03-01T12:00:00.000Z'
const DAY = 86_400_000
const at = (days: number) => new Date(new Date(T0).getTime() + days * DAY)
const detection = { type: 'high_request_rate' as const, severity: 'high' as const, observed: 12, threshold: 5, windowSeconds: 60, details: {} }

/** Every table's row count and a digest of its contents, so "nothing changed" means nothing. */
async function snapshot(sql: Sql): Promise<Record<string, { rows: number; digest: string }>> {
  const tables = await sql`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`
  const out: Record<string, { rows: number; digest: string }> = {}
  for (const { table_name: t } of tables) {
    const [r] = await sql`select count(*)::int as rows, md5(coalesce(string_agg(x::text, '|' order by x::text), '')) as digest from ${sql(t)} x`
    out[t] = { rows: r!.rows, digest: r!.digest }
  }
  return out
}

const ids = async (sql: Sql, table: 'api_keys' | 'api_key_anomalies') =>
  (await sql`select ${sql(table === 'api_keys' ? 'key_id' : 'anomaly_id')} as id from ${sql(table)} order by 1`).map((r) => r.id as string)

const auditOf = async (sql: Sql) =>
  (await auditRows(sql)).map((r) => ({ seq: r.seq, key_id: r.keyId, action: r.action, actor: r.actor, details: r.details, created_at: new Date(r.at) }))

describe('api-key cleanup (core)', () => {
  let sql: Sql
  let clock: ReturnType<typeof fixedClock>
  let ctx: CoreContext

  before(() => {
    sql = openTestSql()
  })
  after(() => sql.end())

  beforeEach(async () => {
    await truncateAll(sql)
    clock = fixedClock(T0)
    ctx = testContext(sql, { clock, env: { MOMENTRY_USAGE_RETENTION: '30d' } })
  })

  /**
   * At T0: a revoked key (with an open anomaly), an expiring key, a key rotated away (48h
   * grace) and its successor, an active key with an anomaly resolved at once and one left
   * open. At T0+80d: a key revoked and an anomaly resolved (both inside 90 days at T0+100d).
   * Usage rows at T0 and T0+99d. The clock then stands at T0+100d.
   */
  async function world() {
    const revoked = await createKey(ctx, { name: 'revoked', type: 'user' })
    await revokeKey(ctx, { id: revoked.key.id, reason: 'leaked' })
    const expired = await createKey(ctx, { name: 'expired', type: 'user', expiresInSeconds: 86_400 })
    const rotated = await createKey(ctx, { name: 'rotated', type: 'service' })
    const successor = await rotateKey(ctx, { id: rotated.key.id })
    const active = await createKey(ctx, { name: 'active', type: 'system' })
    await upsertAnomaly(sql, 'anm_0000000000000001', revoked.key.id, detection, at(0))
    await upsertAnomaly(sql, 'anm_0000000000000002', active.key.id, detection, at(0))
    await resolveAnomaly(ctx, 'anm_0000000000000002')
    await upsertAnomaly(sql, 'anm_0000000000000003', active.key.id, { ...detection, type: 'multiple_ips' }, at(0))
    clock.set(at(80))
    const recent = await createKey(ctx, { name: 'recent', type: 'user' })
    await revokeKey(ctx, { id: recent.key.id })
    await upsertAnomaly(sql, 'anm_0000000000000004', recent.key.id, detection, at(80))
    await resolveAnomaly(ctx, 'anm_0000000000000004')
    await sql`insert into key_usage_minute (key_id, minute, ok_count, fail_count) values
      (${active.key.id}, ${at(0)}, 5, 1), (${revoked.key.id}, ${at(0)}, 2, 0), (${active.key.id}, ${at(99)}, 7, 0)`
    await sql`insert into validation_failure_minute (minute, code, ip, key_id, count) values
      (${at(0)}, 'REVOKED', '192.0.2.7', ${revoked.key.id}, 1), (${at(0)}, 'NOT_FOUND', '192.0.2.8', '', 4), (${at(0)}, 'MALFORMED', '', '', 2), (${at(99)}, 'NOT_FOUND', '192.0.2.8', '', 3)`
    clock.set(at(100))
    return { revoked, expired, rotated, successor, active, recent }
  }

  it('given keys and anomalies past 90 days, when cleaned up, then exactly the listed rows go and nothing else', async () => {
    const w = await world()
    const keysBefore = await ids(sql, 'api_keys')
    const anomaliesBefore = await ids(sql, 'api_key_anomalies')
    const [{ n: usageBefore }] = (await sql`select count(*)::int as n from key_usage_minute`) as unknown as [{ n: number }]

    const r = await cleanup(ctx)

    expect(r.dryRun).to.equal(false)
    expect(r.olderThan).to.equal('90d')
    expect(r.cutoff).to.equal(at(10).toISOString())
    expect(r.keys.map((k) => [k.name, k.reason])).to.deep.equal([
      ['revoked', 'revoked'],
      ['expired', 'expired'],
      ['rotated', 'rotated'],
    ])
    expect(r.keys.find((k) => k.name === 'rotated')!.endedAt).to.equal(at(2).toISOString())
    expect(r.anomalies.map((a) => [a.id, a.reason])).to.deep.equal([
      ['anm_0000000000000001', 'key-purged'],
      ['anm_0000000000000002', 'resolved'],
    ])
    expect(r.usage).to.deep.equal({ retention: '30d', cutoff: at(70).toISOString(), rows: 2, failureRows: 3 })

    const purgedKeys = r.keys.map((k) => k.id)
    expect(await ids(sql, 'api_keys')).to.deep.equal(keysBefore.filter((id) => !purgedKeys.includes(id)))
    const purgedAnomalies = r.anomalies.map((a) => a.id)
    expect(await ids(sql, 'api_key_anomalies')).to.deep.equal(anomaliesBefore.filter((id) => !purgedAnomalies.includes(id)))
    const usageLeft = await sql`select key_id, minute from key_usage_minute`
    expect(usageLeft.length).to.equal(usageBefore - 2)
    expect(usageLeft.map((u) => [u.key_id, u.minute.toISOString()])).to.deep.equal([[w.active.key.id, at(99).toISOString()]])
    const failuresLeft = await sql`select minute, code, count from validation_failure_minute`
    expect(failuresLeft.map((f) => [f.minute.toISOString(), f.code, f.count])).to.deep.equal([[at(99).toISOString(), 'NOT_FOUND', 3]])
    expect(await ids(sql, 'api_keys')).to.include.members([w.successor.key.id, w.active.key.id, w.recent.key.id])
  })

  it('given a cleanup that removes rows, then every audit row stays as it was and exactly one key.cleanup row lists the ids', async () => {
    await world()
    const before = await auditOf(sql)
    const r = await cleanup(ctx)
    const after = await auditOf(sql)
    expect(after.length).to.equal(before.length + 1)
    expect(after.slice(0, before.length)).to.deep.equal([...before])
    const row = after.at(-1)!
    expect(row).to.include({ key_id: null, action: 'key.cleanup', actor: 'test:runner' })
    expect(row.created_at.toISOString()).to.equal(at(100).toISOString())
    expect(row.details).to.deep.equal({
      olderThan: '90d',
      cutoff: r.cutoff,
      keyIds: r.keys.map((k) => k.id),
      anomalyIds: r.anomalies.map((a) => a.id),
      usage: { rows: 2, failureRows: 3, before: r.usage.cutoff },
    })
  })

  it('given --dry-run, when cleaned up, then no table changes and the lists equal those of the real run that follows', async () => {
    await world()
    const before = await snapshot(sql)
    const dry = await cleanup(ctx, { dryRun: true })
    expect(await snapshot(sql)).to.deep.equal(before)
    expect(dry.dryRun).to.equal(true)
    const real = await cleanup(ctx)
    expect({ ...dry, dryRun: false }).to.deep.equal(real)
  })

  it('given nothing past retention, when cleaned up twice, then the second run removes nothing and writes no audit row', async () => {
    await world()
    await cleanup(ctx)
    const before = await snapshot(sql)
    const again = await cleanup(ctx)
    expect([again.keys, again.anomalies, again.usage.rows]).to.deep.equal([[], [], 0])
    expect(await snapshot(sql)).to.deep.equal(before)
  })

  it('given a kept key rotated from a purged one, when cleaned up, then its rotated_from becomes null and it still validates', async () => {
    const w = await world()
    expect((await sql`select rotated_from from api_keys where key_id = ${w.successor.key.id}`)[0]!.rotated_from).to.equal(w.rotated.key.id)
    await cleanup(ctx)
    expect((await sql`select rotated_from from api_keys where key_id = ${w.successor.key.id}`)[0]!.rotated_from).to.equal(null)
    expect(await verifyKey(ctx, { key: w.successor.secret })).to.include({ valid: true })
  })

  it('given a chain A→B→C where A and B are past retention, when cleaned up, then both go in one statement and C stays', async () => {
    const a = await createKey(ctx, { name: 'chain', type: 'service' })
    const b = await rotateKey(ctx, { id: a.key.id })
    clock.set(at(1))
    const c = await rotateKey(ctx, { id: b.key.id })
    clock.set(at(100))
    const r = await cleanup(ctx)
    expect(r.keys.map((k) => k.id)).to.deep.equal([a.key.id, b.key.id])
    expect(await ids(sql, 'api_keys')).to.deep.equal([c.key.id])
    expect((await sql`select rotated_from from api_keys`)[0]!.rotated_from).to.equal(null)
  })

  it('given a key still in its grace period whose successor was revoked long ago, then the successor is kept and the link stays', async () => {
    const a = await createKey(ctx, { name: 'long-grace', type: 'service' })
    const b = await rotateKey(ctx, { id: a.key.id, graceSeconds: 200 * 86_400 })
    await revokeKey(ctx, { id: b.key.id })
    clock.set(at(100))
    const r = await cleanup(ctx)
    expect(r.keys).to.deep.equal([])
    expect(r.keptAsSuccessor).to.deep.equal([b.key.id])
    expect((await sql`select replaced_by from api_keys where key_id = ${a.key.id}`)[0]!.replaced_by).to.equal(b.key.id)
    // Once the old key's grace is over too, both go together.
    clock.set(at(300))
    expect((await cleanup(ctx)).keys.map((k) => k.id)).to.deep.equal([a.key.id, b.key.id])
  })

  it('given --older-than 1d, when cleaned up, then the cutoff follows it', async () => {
    await world()
    const r = await cleanup(ctx, { olderThanSeconds: 86_400, dryRun: true })
    expect(r.cutoff).to.equal(at(99).toISOString())
    expect(r.keys.map((k) => k.name)).to.deep.equal(['revoked', 'expired', 'rotated', 'recent'])
    expect(r.anomalies.map((a) => a.id)).to.deep.equal(['anm_0000000000000001', 'anm_0000000000000002', 'anm_0000000000000004'])
  })

  it('given an age of zero, when cleaned up, then it is a usage error and nothing changes', async () => {
    await world()
    const before = await snapshot(sql)
    const error = await cleanup(ctx, { olderThanSeconds: 0 }).catch((e: unknown) => e)
    expect(error).to.be.instanceOf(UsageError)
    expect(await snapshot(sql)).to.deep.equal(before)
  })
})
