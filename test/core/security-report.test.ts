import { expect } from 'chai'
import fc from 'fast-check'

import { resolveAnomaly } from '../../src/core/anomalies/handle-anomaly.js'
import { upsertAnomaly } from '../../src/core/anomalies/repo.js'
import { disableKey, revokeKey } from '../../src/core/api-keys/change-key-state.js'
import { createKey } from '../../src/core/api-keys/create-key.js'
import { generateRawKey } from '../../src/core/api-keys/key-format.js'
import { addToBlacklist } from '../../src/core/blacklist/blacklist.js'
import { fixedClock } from '../../src/core/clock.js'
import type { CoreContext } from '../../src/core/context.js'
import type { Sql } from '../../src/core/db/connect.js'
import type { MomentryError } from '../../src/core/errors.js'
import { UsageError } from '../../src/core/errors.js'
import type { SecurityReport } from '../../src/core/reports/security-report.js'
import { buildSecurityReport } from '../../src/core/reports/security-report.js'
import { verifyKey } from '../../src/core/validation/verify-key.js'
import { INVALID_CODES } from '../../src/core/validation/invalid-codes.js'
import { SECURITY_CSV_HEAD, renderSecurityReport } from '../../src/ui/security-report.js'
import type { TestCore } from '../helpers/db.js'
import { openTestSql, testCore, truncateAll } from '../helpers/db.js'

const SINCE = new Date('2031-03-01T00:00:00Z')
const UNTIL = new Date('2031-03-04T00:00:00Z')
const NOW = '2031-03-04T12:00:00.000Z'
const DAY = 86_400
const ONES = Array.from({ length: 21 }, (_, i) => `10.0.0.${i + 1}`)

describe('report security (core)', () => {
  let sql: Sql
  let core: TestCore
  let ctx: CoreContext
  let clock: ReturnType<typeof fixedClock>
  const id = { old: '', soon: '', disabled: '', revoked: '', scoped: '', expired: '' }

  before(async () => {
    sql = openTestSql()
    await truncateAll(sql)
    clock = fixedClock('2030-09-01T00:00:00Z')
    core = testCore(sql, { clock })
    ctx = core.ctx
    id.old = (await createKey(ctx, { name: 'old', type: 'service', owner: 'ops', rotateEverySeconds: 90 * DAY })).key.id
    clock.set('2031-01-01T00:00:00Z')
    id.disabled = (await createKey(ctx, { name: 'dormant', type: 'integration', owner: '=evil()', rotateEverySeconds: 30 * DAY })).key.id
    await disableKey(ctx, { id: id.disabled, reason: 'paused' })
    clock.set('2031-01-10T00:00:00Z')
    const revoked = await createKey(ctx, { name: 'revoked', type: 'user', owner: 'bob' })
    id.revoked = revoked.key.id
    await revokeKey(ctx, { id: id.revoked, reason: 'leaked' })
    clock.set('2031-02-01T00:00:00Z')
    const scoped = await createKey(ctx, { name: 'scoped', type: 'system', owner: 'platform', scopes: ['read'], expiresAt: '2031-06-01T00:00:00Z' })
    id.scoped = scoped.key.id
    id.expired = (await createKey(ctx, { name: 'expired', type: 'user', owner: 'carol', expiresInSeconds: 14 * DAY })).key.id
    clock.set('2031-02-20T00:00:00Z')
    id.soon = (await createKey(ctx, { name: 'soon', type: 'user', expiresAt: '2031-03-14T00:00:00Z' })).key.id
    await addToBlacklist(ctx, { target: '198.51.100.0/24', reason: 'scanner' })

    // A lockout before the window: neither it nor its failures count.
    clock.set('2031-02-27T10:00:00Z')
    for (let i = 0; i < ctx.config.rateLimit.maxAttempts; i++) await verifyKey(ctx, { key: generateRawKey('user'), ip: '192.0.2.200' })

    // Through the real validation path.
    clock.set('2031-03-01T10:00:30Z')
    for (let i = 0; i < 2; i++) expect(await verifyKey(ctx, { key: revoked.secret, ip: '192.0.2.10' })).to.deep.equal({ valid: false, code: 'REVOKED' })
    expect(await verifyKey(ctx, { key: scoped.secret, ip: '192.0.2.10', requiredScopes: ['admin'] })).to.deep.equal({ valid: false, code: 'INSUFFICIENT_SCOPE' })
    expect((await verifyKey(ctx, { key: scoped.secret, ip: '192.0.2.10' })).valid).to.equal(true)
    clock.set('2031-03-02T08:00:10Z')
    for (let i = 0; i < ctx.config.rateLimit.maxAttempts; i++) expect(await verifyKey(ctx, { key: generateRawKey('service'), ip: '203.0.113.66' })).to.deep.equal({ valid: false, code: 'NOT_FOUND' })
    expect(await verifyKey(ctx, { key: scoped.secret, ip: '203.0.113.66' })).to.include({ valid: false, code: 'RATE_LIMITED' })
    expect(await verifyKey(ctx, { key: 'not a key' })).to.deep.equal({ valid: false, code: 'MALFORMED' })
    clock.set('2031-03-03T09:00:00Z')
    for (let i = 0; i < 2; i++) expect(await verifyKey(ctx, { key: scoped.secret, ip: '198.51.100.7' })).to.deep.equal({ valid: false, code: 'BLACKLISTED' })

    // Straight into the recorder, at fixed times.
    const usage = ctx.validation.usage
    for (let i = 0; i < 3; i++) usage.recordFailure({ code: 'NOT_FOUND', ip: '2001:db8::5', atMs: Date.parse('2031-03-03T23:59:30Z') })
    usage.recordFailure({ code: 'BLACKLISTED', ip: '198.51.100.99', atMs: Date.parse('2031-03-02T01:00:00Z') })
    usage.recordFailure({ code: 'BLACKLISTED', ip: '192.0.2.77', atMs: Date.parse('2031-03-02T02:00:00Z') }) // its entry is gone
    for (const ip of ONES) usage.recordFailure({ code: 'MALFORMED', ip, atMs: Date.parse('2031-03-02T05:00:00Z') })
    usage.recordFailure({ code: 'NOT_FOUND', ip: '192.0.2.1', atMs: Date.parse('2031-02-28T23:59:59Z') }) // before the window
    usage.recordFailure({ code: 'NOT_FOUND', ip: '192.0.2.1', atMs: Date.parse('2031-03-04T00:00:00Z') }) // at --until: after it
    await usage.flush()
    // Failures the recorder folded into its catch-all source.
    await sql`insert into validation_failure_minute (minute, code, ip, key_id, count) values ('2031-03-03T12:00:00Z', 'NOT_FOUND', '*', '', 4)`
    await ctx.bus.drain()

    const detection = { observed: 0.8, threshold: 0.5, windowSeconds: 300, details: {} }
    await upsertAnomaly(sql, 'anm_0000000000000001', id.scoped, { ...detection, type: 'high_error_rate', severity: 'high' }, new Date('2031-03-01T11:00:00Z'))
    await upsertAnomaly(sql, 'anm_0000000000000002', id.old, { ...detection, type: 'multiple_ips', severity: 'low' }, new Date('2031-03-03T05:00:00Z'))
    await upsertAnomaly(sql, 'anm_0000000000000003', id.disabled, { ...detection, type: 'unusual_time', severity: 'medium' }, new Date('2031-02-20T03:00:00Z'))
    await upsertAnomaly(sql, 'anm_0000000000000003', id.disabled, { ...detection, type: 'unusual_time', severity: 'medium' }, new Date('2031-03-02T03:00:00Z'))
    clock.set('2031-03-03T06:00:00Z')
    await resolveAnomaly(ctx, 'anm_0000000000000002')
    clock.set(NOW)
  })

  after(async () => {
    await core.close()
    await truncateAll(sql)
    await sql.end()
  })

  const report = () => buildSecurityReport(ctx, { since: SINCE, until: UNTIL })
  const zeros = { MALFORMED: 0, NOT_FOUND: 0, DISABLED: 0, REVOKED: 0, EXPIRED: 0, INSUFFICIENT_SCOPE: 0, RATE_LIMITED: 0, BLACKLISTED: 0 }
  const types = { high_request_rate: 0, high_error_rate: 0, multiple_ips: 0, unusual_time: 0 }
  const severities = { low: 0, medium: 0, high: 0, critical: 0 }
  const ref = (k: keyof typeof id) => ({
    old: { keyId: id.old, name: 'old', type: 'service', owner: 'ops', status: 'active', createdAt: '2030-09-01T00:00:00.000Z', expiresAt: null },
    disabled: { keyId: id.disabled, name: 'dormant', type: 'integration', owner: '=evil()', status: 'disabled', createdAt: '2031-01-01T00:00:00.000Z', expiresAt: null },
    soon: { keyId: id.soon, name: 'soon', type: 'user', owner: null, status: 'active', createdAt: '2031-02-20T00:00:00.000Z', expiresAt: '2031-03-14T00:00:00.000Z' },
    scoped: { keyId: id.scoped, name: 'scoped', type: 'system', owner: 'platform', status: 'active', createdAt: '2031-02-01T00:00:00.000Z', expiresAt: '2031-06-01T00:00:00.000Z' },
    revoked: undefined,
    expired: undefined,
  })[k]!

  it('given failures through verifyKey and the recorder, lockouts, anomalies and keys needing attention, when built, then every field has its exact value', async () => {
    const r = await report()
    const [audit] = await sql`select count(*)::int as rows, max(seq)::int as head from api_key_audit_log`
    const ones = [...ONES].sort()
    const expected: SecurityReport = {
      generatedAt: NOW,
      since: '2031-03-01T00:00:00.000Z',
      until: '2031-03-04T00:00:00.000Z',
      days: ['2031-03-01', '2031-03-02', '2031-03-03'],
      totals: {
        failures: 42,
        failuresOfKnownKeys: 3,
        lockouts: 1,
        blacklistHits: 4,
        anomalies: 2,
        rotationOverdue: 1,
        expiringSoon: 1,
        withoutExpiry: 2,
        withoutOwner: 1,
      },
      failuresByCode: [
        { code: 'MALFORMED', count: 22 },
        { code: 'NOT_FOUND', count: 12 },
        { code: 'DISABLED', count: 0 },
        { code: 'REVOKED', count: 2 },
        { code: 'EXPIRED', count: 0 },
        { code: 'INSUFFICIENT_SCOPE', count: 1 },
        { code: 'RATE_LIMITED', count: 1 },
        { code: 'BLACKLISTED', count: 4 },
      ],
      failuresPerDay: [
        { day: '2031-03-01', byCode: { ...zeros, REVOKED: 2, INSUFFICIENT_SCOPE: 1 } },
        { day: '2031-03-02', byCode: { ...zeros, MALFORMED: 22, NOT_FOUND: 5, RATE_LIMITED: 1, BLACKLISTED: 2 } },
        { day: '2031-03-03', byCode: { ...zeros, NOT_FOUND: 7, BLACKLISTED: 2 } },
      ],
      failuresBySource: [
        { ip: '203.0.113.66', count: 6, byCode: { NOT_FOUND: 5, RATE_LIMITED: 1 }, lastAt: '2031-03-02T08:00:00.000Z' },
        { ip: '192.0.2.10', count: 3, byCode: { REVOKED: 2, INSUFFICIENT_SCOPE: 1 }, lastAt: '2031-03-01T10:00:00.000Z' },
        { ip: '2001:db8::5', count: 3, byCode: { NOT_FOUND: 3 }, lastAt: '2031-03-03T23:59:00.000Z' },
        { ip: '198.51.100.7', count: 2, byCode: { BLACKLISTED: 2 }, lastAt: '2031-03-03T09:00:00.000Z' },
        // Then the sources with one failure each, by address (bytewise), up to 20 in all.
        ...[...ones, '192.0.2.77', '198.51.100.99']
          .sort()
          .slice(0, 16)
          .map((ip) => ({
            ip,
            count: 1,
            byCode: ip.startsWith('10.') ? { MALFORMED: 1 } : { BLACKLISTED: 1 },
            lastAt: ip.startsWith('10.') ? '2031-03-02T05:00:00.000Z' : ip === '192.0.2.77' ? '2031-03-02T02:00:00.000Z' : '2031-03-02T01:00:00.000Z',
          })),
      ],
      // 7 addresses with one failure each beyond the top 20, and the 4 folded failures.
      otherSources: { sources: 7, count: 11 },
      failuresWithoutSource: 1,
      lockouts: [{ ip: '203.0.113.66', at: '2031-03-02T08:00:10.000Z', attempts: 5 }],
      blacklistHits: [
        { ip: '198.51.100.7', count: 2, network: '198.51.100.0/24', lastAt: '2031-03-03T09:00:00.000Z' },
        { ip: '192.0.2.77', count: 1, network: null, lastAt: '2031-03-02T02:00:00.000Z' },
        { ip: '198.51.100.99', count: 1, network: '198.51.100.0/24', lastAt: '2031-03-02T01:00:00.000Z' },
      ],
      anomalies: {
        byType: { ...types, high_error_rate: 1, multiple_ips: 1 },
        bySeverity: { ...severities, low: 1, high: 1 },
        perDay: [
          { day: '2031-03-01', byType: { ...types, high_error_rate: 1 }, bySeverity: { ...severities, high: 1 } },
          { day: '2031-03-02', byType: types, bySeverity: severities },
          { day: '2031-03-03', byType: { ...types, multiple_ips: 1 }, bySeverity: { ...severities, low: 1 } },
        ],
        open: [
          { id: 'anm_0000000000000003', keyId: id.disabled, keyName: 'dormant', type: 'unusual_time', severity: 'medium', status: 'open', firstSeenAt: '2031-02-20T03:00:00.000Z', lastSeenAt: '2031-03-02T03:00:00.000Z', count: 2 },
          { id: 'anm_0000000000000001', keyId: id.scoped, keyName: 'scoped', type: 'high_error_rate', severity: 'high', status: 'open', firstSeenAt: '2031-03-01T11:00:00.000Z', lastSeenAt: '2031-03-01T11:00:00.000Z', count: 1 },
        ],
      },
      // Created 2030-09-01, every 90 days: due 2030-11-30, 94.5 days before the report.
      rotationOverdue: [{ ...ref('old'), rotateEverySeconds: 90 * DAY, dueAt: '2030-11-30T00:00:00.000Z', overdueDays: 94 }],
      expiringSoon: [{ ...ref('soon'), daysLeft: 10 }],
      withoutExpiry: [ref('old'), ref('disabled')],
      withoutOwner: [ref('soon')],
      histogram: {
        age: [
          { bucket: '< 7 days', count: 0 },
          { bucket: '7–30 days', count: 1 },
          { bucket: '30–90 days', count: 2 },
          { bucket: '90–180 days', count: 0 },
          { bucket: '180–365 days', count: 1 },
          { bucket: '> 1 year', count: 0 },
        ],
        expiry: [
          { bucket: 'expired', count: 0 },
          { bucket: '≤ 7 days', count: 0 },
          { bucket: '8–30 days', count: 1 },
          { bucket: '31–90 days', count: 1 },
          { bucket: '> 90 days', count: 0 },
          { bucket: 'never', count: 2 },
        ],
      },
      summary: {
        generatedAt: NOW,
        keys: { total: 6, byStatus: { active: 3, rotating: 0, revoked: 1, expired: 1, disabled: 1 } },
        rotationOverdue: 1,
        expiringIn7Days: 0,
        expiringIn30Days: 1,
        openAnomalies: 2,
        audit: { ok: true, rows: audit!.rows, headSeq: audit!.head, broken: null, epochs: 0 },
      },
    }
    expect(r).to.deep.equal(expected)
    expect(JSON.parse(renderSecurityReport(r, 'json'))).to.deep.equal(expected)
    // The counts agree with the summary (`api-key stats`'s rules).
    expect(r.totals.rotationOverdue).to.equal(r.summary.rotationOverdue)
  })

  it('given the same report, when rendered as CSV, then it is one row per fact with its section, formula-like cells defused', async () => {
    const lines = renderSecurityReport(await report(), 'csv').split('\r\n')
    expect(lines[0]).to.equal(SECURITY_CSV_HEAD.join(','))
    expect(lines.at(-1)).to.equal('')
    for (const line of lines.slice(1, -1)) expect(line.split(',').length, line).to.equal(SECURITY_CSV_HEAD.length)
    expect(lines).to.include.members([
      'total,,,,,,failures,,,,42,,',
      'total,,,,,,lockouts,,,,1,,',
      'failures,2031-03-02,MALFORMED,,,,,,,,22,,',
      'failures,2031-03-01,REVOKED,,,,,,,,2,,',
      'failures by source,,NOT_FOUND,203.0.113.66,,,,,,,5,2031-03-02T08:00:00.000Z,',
      'failures by source,,RATE_LIMITED,203.0.113.66,,,,,,,1,2031-03-02T08:00:00.000Z,',
      'failures by source,,,,,,other sources,,,,11,,7 source(s)',
      'failures by source,,,,,,no source IP,,,,1,,',
      'lockout,,,203.0.113.66,,,,,,,5,2031-03-02T08:00:10.000Z,',
      'blacklist hit,,,198.51.100.7,,,,,,,2,2031-03-03T09:00:00.000Z,198.51.100.0/24',
      'blacklist hit,,,192.0.2.77,,,,,,,1,2031-03-02T02:00:00.000Z,(removed)',
      'anomalies by type,2031-03-01,,,,,high_error_rate,,,,1,,',
      'anomalies by severity,2031-03-03,,,,,,,,low,1,,',
      `open anomaly,,,,${id.scoped},scoped,high_error_rate,,open,high,1,2031-03-01T11:00:00.000Z,anm_0000000000000001`,
      `rotation overdue,,,,${id.old},old,service,ops,active,,94,2030-11-30T00:00:00.000Z,every 90d`,
      `expiring soon,,,,${id.soon},soon,user,,active,,10,2031-03-14T00:00:00.000Z,`,
      `without expiry,,,,${id.disabled},dormant,integration,'=evil(),disabled,,,2031-01-01T00:00:00.000Z,`,
      `without owner,,,,${id.soon},soon,user,,active,,,2031-02-20T00:00:00.000Z,`,
      'key age,,,,,,180–365 days,,,,1,,',
      'key expiry,,,,,,never,,,,2,,',
    ])
    expect(lines.filter((l) => l.startsWith('failures by source,'))).to.have.length(2 + 2 + 1 + 1 + 16 + 2)
    expect(lines.find((l) => l.startsWith('audit,'))).to.match(/^audit,,,,,,intact,,,,\d+,,head \d+$/)
  })

  it('given the same report, when rendered as Markdown and as a table, then each section has a heading and its exact rows', async () => {
    const r = await report()
    const md = renderSecurityReport(r, 'md').split('\n')
    expect(md[0]).to.equal('# Security report (2031-03-01 00:00Z – 2031-03-04 00:00Z)')
    expect(md[2]).to.equal(
      '42 failed validations (3 of known keys), 1 lockout(s), 4 blacklist hit(s), 2 anomaly(ies) over 3 day(s); 1 key(s) overdue for rotation, 1 expiring within 30 days, 2 without expiry, 1 without owner; audit chain intact (' +
        `${r.summary.audit.rows} rows).`,
    )
    expect(md).to.include.members([
      '## Failures by code',
      '| MALFORMED | 22 |',
      '## Failures per day',
      '| day | MALFORMED | NOT_FOUND | REVOKED | INSUFFICIENT_SCOPE | RATE_LIMITED | BLACKLISTED | total |',
      '| 2031-03-02 | 22 | 5 | 0 | 0 | 1 | 2 | 30 |',
      '## Failures by source',
      '| 203.0.113.66 | 6 | NOT_FOUND 5, RATE_LIMITED 1 | 2031-03-02 08:00Z |',
      '| (7 other source(s)) | 11 |   |   |',
      '| (no source IP) | 1 |   |   |',
      '## Lockouts (1)',
      '| 203.0.113.66 | 2031-03-02 08:00Z | 5 |',
      '| 192.0.2.77 | 1 | (removed) | 2031-03-02 02:00Z |',
      '| anm_0000000000000003 | ' + `${id.disabled} | dormant | unusual_time | medium | open | 2031-02-20 03:00Z | 2031-03-02 03:00Z | 2 |`,
      `| ${id.old} | old | service | ops | active | 2030-09-01 | — | 90d | 2030-11-30 00:00Z | 94 |`,
      `| ${id.soon} | soon | user |   | active | 2031-02-20 | 2031-03-14 | 10 |`,
      '| 180–365 days | 1 | > 90 days | 0 |',
      '## Audit trail',
    ])
    const table = renderSecurityReport(r, 'table')
    expect(table.split('\n')[0]).to.equal(`Security 2031-03-01 00:00Z – 2031-03-04 00:00Z: ${md[2]}`)
    for (const heading of ['Failures by code:', 'Failures by source:', 'Lockouts (1):', 'Blacklist hits:', 'Anomalies not resolved:', 'Overdue for rotation:', 'Expiring within 30 days:', 'Without expiry:', 'Without owner:']) {
      expect(table.split('\n'), heading).to.include(heading)
    }
    expect(table).to.include(`audit verify: intact, ${r.summary.audit.rows} row(s), head ${r.summary.audit.headSeq}.`)
  })

  it('given a window with nothing in it, when built, then every count is zero, every code, type and severity is still present, and the lists say so', async () => {
    const r = await buildSecurityReport(ctx, { since: new Date('2031-01-01T00:00:00Z'), until: new Date('2031-01-02T00:00:00Z') })
    expect(r.days).to.deep.equal(['2031-01-01'])
    expect(r.failuresByCode.map((f) => f.count)).to.deep.equal([0, 0, 0, 0, 0, 0, 0, 0])
    expect(r.failuresPerDay).to.deep.equal([{ day: '2031-01-01', byCode: zeros }])
    expect([r.failuresBySource, r.lockouts, r.blacklistHits, r.otherSources, r.failuresWithoutSource]).to.deep.equal([[], [], [], { sources: 0, count: 0 }, 0])
    expect(r.anomalies.perDay).to.deep.equal([{ day: '2031-01-01', byType: types, bySeverity: severities }])
    expect(r.totals).to.include({ failures: 0, lockouts: 0, blacklistHits: 0, anomalies: 0, rotationOverdue: 1 })
    const text = renderSecurityReport(r, 'table')
    expect(text).to.include('No failed validation in the window.').and.include('No lockout in the window.').and.include('No blacklisted source was refused in the window.')
  })

  it('given any sources in the failure table (addresses, the catch-all, none, or strings that are no address), when built, then it never fails and every failure is counted once among the sources', async () => {
    const row = fc.record({
      ip: fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom('', '*', '198.51.100.3', '10.0.0.0/8'), fc.string({ maxLength: 20 }).filter((x) => !x.includes('\0'))),
      code: fc.constantFrom(...INVALID_CODES),
      count: fc.integer({ min: 1, max: 1000 }),
      minute: fc.integer({ min: 0, max: 3 * 1440 - 1 }),
    })
    const from = new Date('2032-01-01T00:00:00Z')
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(row, { maxLength: 40 }), async (rows) => {
          await sql`delete from validation_failure_minute where minute >= ${from}`
          for (const x of rows) {
            const minute = new Date(from.getTime() + x.minute * 60_000)
            await sql`insert into validation_failure_minute (minute, code, ip, key_id, count) values (${minute}, ${x.code}, ${x.ip}, '', ${x.count})
              on conflict (minute, code, ip, key_id) do update set count = validation_failure_minute.count + excluded.count`
          }
          const r = await buildSecurityReport(ctx, { since: from, until: new Date('2032-01-04T00:00:00Z') })
          const total = rows.reduce((n, x) => n + x.count, 0)
          expect(r.totals.failures).to.equal(total)
          const listed = r.failuresBySource.reduce((n, x) => n + x.count, 0)
          expect(listed + r.otherSources.count + r.failuresWithoutSource).to.equal(total)
          expect(r.failuresBySource.length).to.be.at.most(20)
          expect(r.totals.blacklistHits).to.equal(rows.filter((x) => x.code === 'BLACKLISTED').reduce((n, x) => n + x.count, 0))
          expect(r.blacklistHits.every((h) => rows.some((x) => x.ip === h.ip && x.code === 'BLACKLISTED'))).to.equal(true)
          expect(r.blacklistHits.find((h) => h.ip === '198.51.100.3')?.network ?? null).to.equal(r.blacklistHits.some((h) => h.ip === '198.51.100.3') ? '198.51.100.0/24' : null)
        }),
        { numRuns: 25 },
      )
    } finally {
      await sql`delete from validation_failure_minute where minute >= ${from}`
    }
  })

  it('given a start not before the end, or a window over 400 days, when built, then it is a UsageError (exit 2), as for the usage report', async () => {
    for (const [since, until] of [
      [UNTIL, UNTIL],
      [UNTIL, SINCE],
      [new Date('2029-01-01T00:00:00Z'), UNTIL],
      [new Date('nonsense'), UNTIL],
    ] as const) {
      const error = await buildSecurityReport(ctx, { since, until }).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).to.be.instanceOf(UsageError)
      expect((error as MomentryError).exitCode).to.equal(2)
    }
  })
})
