// Hand-made reports for the HTML renderers: every number known, names a hostile user could give.
import type { Inventory } from '../../src/core/reports/inventory.js'
import type { SecurityReport } from '../../src/core/reports/security-report.js'
import type { ReportSummary } from '../../src/core/reports/summary.js'
import type { UsageReport, UsageReportKey } from '../../src/core/reports/usage-report.js'
import { INVALID_CODES } from '../../src/core/validation/invalid-codes.js'

export const HOSTILE = ['<script>alert(1)</script>', `quote"s & 'apostrophes'`, '</script><script>alert(2)</script>', '<!-- comment', '<img src=x onerror=alert(3)>']

export const SUMMARY: ReportSummary = {
  generatedAt: '2031-03-10T12:00:00.000Z',
  keys: { total: 6, byStatus: { active: 4, rotating: 1, disabled: 0, revoked: 1, expired: 0 } },
  rotationOverdue: 2,
  expiringIn7Days: 1,
  expiringIn30Days: 3,
  openAnomalies: 4,
  audit: { ok: true, rows: 57, headSeq: 57, broken: null, epochs: 0 },
}

export const BROKEN: ReportSummary = { ...SUMMARY, audit: { ok: false, rows: 57, headSeq: 57, broken: { seq: 17, problem: 'row hash does not match <its fields>' }, epochs: 0 } }

const DAYS = ['2031-03-01', '2031-03-02', '2031-03-03']

function key(keyId: string, name: string | null, ok: number[], failed: number[], extra: Partial<UsageReportKey> = {}): UsageReportKey {
  const [o, f] = [ok.reduce((a, b) => a + b, 0), failed.reduce((a, b) => a + b, 0)]
  return {
    keyId,
    name,
    type: name === null ? null : 'service',
    owner: name === null ? null : 'team & co',
    status: name === null ? null : 'active',
    createdAt: name === null ? null : '2031-02-01T09:00:00.000Z',
    expiresAt: null,
    ok: o,
    failed: f,
    failedByCode: f ? { INSUFFICIENT_SCOPE: f } : {},
    total: o + f,
    lastUsedAt: o + f ? '2031-03-03T10:00:00.000Z' : null,
    daily: { ok, failed, failedByCode: f ? { INSUFFICIENT_SCOPE: failed } : {} },
    ...extra,
  }
}

/**
 * Three days; per day ok 8/4/10 and failed 1/4/2 (non-zero values: 6 marks); five keys used
 * (the five hostile names; 8 non-zero ok/failed totals), one purged key used, two unused.
 */
export function usageFixture(): UsageReport {
  const keys: UsageReportKey[] = [
    key('key_0000000000000001', HOSTILE[0]!, [5, 0, 5], [1, 0, 0], { expiresAt: '2031-03-12T00:00:00.000Z' }),
    key('key_0000000000000002', HOSTILE[1]!, [3, 0, 3], [0, 0, 2], { createdAt: '2030-01-01T00:00:00.000Z' }),
    key('key_0000000000000003', HOSTILE[2]!, [0, 4, 0], [0, 3, 0], { failedByCode: { REVOKED: 3 }, daily: { ok: [0, 4, 0], failed: [0, 3, 0], failedByCode: { REVOKED: [0, 3, 0] } } }),
    key('key_0000000000000004', HOSTILE[3]!, [0, 0, 2], [0, 0, 0], { expiresAt: '2031-03-01T00:00:00.000Z' }),
    key('key_0000000000000005', null, [0, 0, 0], [0, 1, 0]),
    key('key_0000000000000006', HOSTILE[4]!, [0, 0, 0], [0, 0, 0], { createdAt: '2031-03-08T00:00:00.000Z' }),
    key('key_0000000000000007', 'idle', [0, 0, 0], [0, 0, 0], { expiresAt: '2031-05-01T00:00:00.000Z' }),
  ]
  const used = keys.filter((k) => k.total > 0).sort((a, b) => b.total - a.total)
  return {
    generatedAt: '2031-03-10T12:00:00.000Z',
    since: '2031-03-01T00:00:00.000Z',
    until: '2031-03-04T00:00:00.000Z',
    days: DAYS,
    totals: { validations: 29, ok: 22, failed: 7, failedByCode: { INSUFFICIENT_SCOPE: 4, REVOKED: 3 }, keys: 7, keysUsed: 5, keysNeverUsed: 2 },
    perDay: [
      { day: DAYS[0]!, ok: 8, failed: 1 },
      { day: DAYS[1]!, ok: 4, failed: 4 },
      { day: DAYS[2]!, ok: 10, failed: 2 },
    ],
    keys: [...used, ...keys.filter((k) => k.total === 0)],
    busiest: used.map((k) => ({ keyId: k.keyId, name: k.name, ok: k.ok, failed: k.failed, total: k.total })),
    neverUsed: keys
      .filter((k) => k.total === 0)
      .map((k) => ({ keyId: k.keyId, name: k.name, type: k.type, owner: k.owner, status: k.status, createdAt: k.createdAt, lastUsedAt: k.lastUsedAt })),
  }
}

/** A report the size of the bench's: `keyCount` keys, each used every day of `dayCount`, the last tenth never. */
export function bigUsageFixture(keyCount: number, dayCount: number): UsageReport {
  const days = Array.from({ length: dayCount }, (_, i) => new Date(Date.UTC(2031, 0, 1 + i)).toISOString().slice(0, 10))
  const keys: UsageReportKey[] = Array.from({ length: keyCount }, (_, i) => {
    const unused = i >= keyCount * 0.9
    const ok = days.map((_, d) => (unused ? 0 : 100 + ((i * 7 + d) % 50)))
    const failed = days.map((_, d) => (unused ? 0 : (i + d) % 5))
    return key(`key_${String(i).padStart(16, '0')}`, `bench-key-${String(i).padStart(5, '0')}`, ok, failed, { expiresAt: i % 3 ? '2031-06-01T00:00:00.000Z' : null })
  }).sort((a, b) => b.total - a.total || (a.keyId < b.keyId ? -1 : 1))
  const perDay = days.map((day, d) => ({ day, ok: keys.reduce((n, k) => n + k.daily.ok[d]!, 0), failed: keys.reduce((n, k) => n + k.daily.failed[d]!, 0) }))
  const ok = perDay.reduce((n, d) => n + d.ok, 0)
  const failed = perDay.reduce((n, d) => n + d.failed, 0)
  const used = keys.filter((k) => k.total > 0)
  return {
    generatedAt: '2031-02-15T00:00:00.000Z',
    since: `${days[0]}T00:00:00.000Z`,
    until: new Date(Date.UTC(2031, 0, 1 + dayCount)).toISOString(),
    days,
    totals: { validations: ok + failed, ok, failed, failedByCode: failed ? { INSUFFICIENT_SCOPE: failed } : {}, keys: keys.length, keysUsed: used.length, keysNeverUsed: keys.length - used.length },
    perDay,
    keys,
    busiest: used.slice(0, 10).map((k) => ({ keyId: k.keyId, name: k.name, ok: k.ok, failed: k.failed, total: k.total })),
    neverUsed: keys.filter((k) => k.total === 0).map((k) => ({ keyId: k.keyId, name: k.name, type: k.type, owner: k.owner, status: k.status, createdAt: k.createdAt, lastUsedAt: k.lastUsedAt })),
  }
}

/** Momentry keys 2 active + 1 revoked, one Gitea token active + one deleted, one n8n key expired. */
export function inventoryFixture(): Inventory {
  const base = { type: null, service: null, scopes: [], createdBy: 'cli:test', lastUsedAt: null, expiresAt: null, drift: null }
  return {
    generatedAt: '2031-03-10T12:00:00.000Z',
    window: null,
    counts: { 'momentry-key': 3, 'gitea-token': 2, 'n8n-api-key': 1 },
    checks: [],
    untracked: [],
    items: [
      { ...base, kind: 'momentry-key', id: 'key_a', name: HOSTILE[0]!, type: 'service', owner: HOSTILE[1]!, createdAt: '2031-03-09T00:00:00.000Z', ageDays: 1, status: 'active' },
      { ...base, kind: 'momentry-key', id: 'key_b', name: 'b', type: 'user', owner: null, createdAt: '2030-12-01T00:00:00.000Z', expiresAt: '2031-03-15T00:00:00.000Z', ageDays: 99, status: 'active' },
      { ...base, kind: 'momentry-key', id: 'key_c', name: 'c', type: 'user', owner: null, createdAt: '2030-12-01T00:00:00.000Z', ageDays: 99, status: 'revoked' },
      { ...base, kind: 'gitea-token', id: 'tok_1', name: HOSTILE[2]!, owner: 'alice', service: 'http://gitea.internal:3000', createdAt: '2031-02-01T00:00:00.000Z', ageDays: 37, status: 'active' },
      { ...base, kind: 'gitea-token', id: 'tok_2', name: 'old', owner: 'alice', service: 'http://gitea.internal:3000', createdAt: '2030-01-01T00:00:00.000Z', ageDays: 433, status: 'deleted' },
      { ...base, kind: 'n8n-api-key', id: 'n8n_1', name: 'ci', owner: null, service: 'http://n8n.internal:5678', createdAt: '2031-01-01T00:00:00.000Z', expiresAt: '2031-03-01T00:00:00.000Z', ageDays: 68, status: 'expired' },
    ],
  }
}

const zeroCodes = () => Object.fromEntries(INVALID_CODES.map((c) => [c, 0])) as SecurityReport['failuresPerDay'][number]['byCode']
const ref = (i: number, name: string) => ({ keyId: `key_s${i}`, name, type: 'service', owner: null, status: 'active', createdAt: '2031-01-01T00:00:00.000Z', expiresAt: null })

/**
 * Failures: NOT_FOUND 5 (3 + 2 on days 1 and 3), REVOKED 2 (day 2), RATE_LIMITED 1 (day 3): 4
 * non-zero per-day values, 3 codes. Two sources (3 marks), anomalies on days 1 and 3, two
 * blacklist hits, 60 keys without expiry (50 shown).
 */
export function securityFixture(summary: ReportSummary = SUMMARY): SecurityReport {
  const day = (d: string, byCode: Partial<Record<(typeof INVALID_CODES)[number], number>>) => ({ day: d, byCode: { ...zeroCodes(), ...byCode } })
  const types = { high_request_rate: 0, high_error_rate: 0, multiple_ips: 0, unusual_time: 0 }
  const sev = { low: 0, medium: 0, high: 0, critical: 0 }
  return {
    generatedAt: '2031-03-10T12:00:00.000Z',
    since: '2031-03-01T00:00:00.000Z',
    until: '2031-03-04T00:00:00.000Z',
    days: DAYS,
    totals: { failures: 8, failuresOfKnownKeys: 2, lockouts: 3, blacklistHits: 7, anomalies: 3, rotationOverdue: 1, expiringSoon: 1, withoutExpiry: 60, withoutOwner: 0 },
    failuresByCode: INVALID_CODES.map((code) => ({ code, count: { NOT_FOUND: 5, REVOKED: 2, RATE_LIMITED: 1 }[code as string] ?? 0 })),
    failuresPerDay: [day(DAYS[0]!, { NOT_FOUND: 3 }), day(DAYS[1]!, { REVOKED: 2 }), day(DAYS[2]!, { NOT_FOUND: 2, RATE_LIMITED: 1 })],
    failuresBySource: [
      { ip: '203.0.113.7', count: 6, byCode: { NOT_FOUND: 5, RATE_LIMITED: 1 }, lastAt: '2031-03-03T08:00:00.000Z' },
      { ip: '2001:db8::1', count: 2, byCode: { REVOKED: 2 }, lastAt: '2031-03-02T08:00:00.000Z' },
    ],
    otherSources: { sources: 0, count: 0 },
    failuresWithoutSource: 0,
    lockouts: [
      { ip: '203.0.113.7', at: '2031-03-03T08:00:00.000Z', attempts: 5 },
      { ip: '203.0.113.7', at: '2031-03-01T08:00:00.000Z', attempts: null },
    ],
    blacklistHits: [
      { ip: '198.51.100.9', count: 5, network: '198.51.100.0/24', lastAt: '2031-03-02T00:00:00.000Z' },
      { ip: '192.0.2.1', count: 2, network: null, lastAt: '2031-03-01T00:00:00.000Z' },
    ],
    anomalies: {
      byType: { ...types, high_error_rate: 2, multiple_ips: 1 },
      bySeverity: { ...sev, low: 1, critical: 2 },
      perDay: [
        { day: DAYS[0]!, byType: { ...types, high_error_rate: 2 }, bySeverity: { ...sev, low: 1, critical: 1 } },
        { day: DAYS[1]!, byType: types, bySeverity: sev },
        { day: DAYS[2]!, byType: { ...types, multiple_ips: 1 }, bySeverity: { ...sev, critical: 1 } },
      ],
      open: [{ id: 'anom_1', keyId: 'key_s1', keyName: HOSTILE[0]!, type: 'high_error_rate', severity: 'critical', status: 'open', firstSeenAt: '2031-03-01T00:00:00.000Z', lastSeenAt: '2031-03-01T01:00:00.000Z', count: 3 }],
    },
    rotationOverdue: [{ ...ref(1, HOSTILE[0]!), rotateEverySeconds: 86_400, dueAt: '2031-01-02T00:00:00.000Z', overdueDays: 67 }],
    expiringSoon: [{ ...ref(2, 'soon'), expiresAt: '2031-03-20T00:00:00.000Z', daysLeft: 10 }],
    withoutExpiry: Array.from({ length: 60 }, (_, i) => ref(100 + i, `forever-${i}`)),
    withoutOwner: [],
    histogram: {
      age: [
        { bucket: '< 7 days', count: 0 },
        { bucket: '7–30 days', count: 0 },
        { bucket: '30–90 days', count: 62 },
        { bucket: '90–180 days', count: 0 },
        { bucket: '180–365 days', count: 0 },
        { bucket: '> 1 year', count: 0 },
      ],
      expiry: [
        { bucket: 'expired', count: 0 },
        { bucket: '≤ 7 days', count: 0 },
        { bucket: '8–30 days', count: 1 },
        { bucket: '31–90 days', count: 0 },
        { bucket: '> 90 days', count: 0 },
        { bucket: 'never', count: 61 },
      ],
    },
    summary,
  }
}
