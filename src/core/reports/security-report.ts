import type { AnomalyType, Severity } from '../anomalies/anomaly-view.js'
import { ANOMALY_TYPES, SEVERITIES } from '../anomalies/anomaly-view.js'
import { openAuditRow } from '../audit/list-audit.js'
import type { CoreContext } from '../context.js'
import type { InvalidCode } from '../validation/invalid-codes.js'
import { INVALID_CODES } from '../validation/invalid-codes.js'
import type { AgeExpiryHistogram } from './histogram.js'
import { ageExpiryHistogram } from './histogram.js'
import { reportWindow } from './report-window.js'
import type { LiveKeyRow } from './security-repo.js'
import { anomalyCounts, blacklistHits, failuresBySource, failureTotals, liveKeys, lockoutRows, openAnomalies } from './security-repo.js'
import type { ReportSummary } from './summary.js'
import { buildReportSummary } from './summary.js'

/** A key as the security report lists it (never a secret). */
export interface SecurityKeyRef {
  keyId: string
  name: string
  type: string
  owner: string | null
  status: string
  createdAt: string
  expiresAt: string | null
}

/**
 * SPEC §10 `report security` over [since, until) in UTC days. Failure counts come from the
 * per-minute, per-code failure table; lockouts from the audit log (`ip.lockout` rows); the
 * key lists are the keys' state at `generatedAt`.
 */
export interface SecurityReport {
  generatedAt: string
  since: string
  until: string
  /** Every UTC day the window touches (`YYYY-MM-DD`), oldest first. */
  days: string[]
  totals: {
    failures: number
    /** Failures of a presented key momentry knows (REVOKED, EXPIRED, DISABLED, INSUFFICIENT_SCOPE, …). */
    failuresOfKnownKeys: number
    lockouts: number
    blacklistHits: number
    /** Anomalies first seen in the window. */
    anomalies: number
    rotationOverdue: number
    expiringSoon: number
    withoutExpiry: number
    withoutOwner: number
  }
  /** Every failure code (zeros included), in `INVALID_CODES` order. */
  failuresByCode: { code: InvalidCode; count: number }[]
  /** Per day of `days`: failures by code (every code present). */
  failuresPerDay: { day: string; byCode: Record<InvalidCode, number> }[]
  /** Source IPs with failures, most first (then by address), at most 20; the rest summed in `otherSources`. `lastAt`: the minute of the last failure (per-minute table). */
  failuresBySource: { ip: string; count: number; byCode: Partial<Record<InvalidCode, number>>; lastAt: string }[]
  otherSources: { sources: number; count: number }
  /**
   * Failures without a source IP (a CLI `validate` with no --ip, say). Failures whose source
   * the recorder folded away (more distinct sources waiting than its bound) are in
   * `otherSources.count` but not in `otherSources.sources`.
   */
  failuresWithoutSource: number
  /**
   * Every lockout in the window, newest first (at most 100; `totals.lockouts` counts all), from
   * the `ip.lockout` audit rows; `attempts` is null when the audit key for its details is not here.
   */
  lockouts: { ip: string; at: string; attempts: number | null }[]
  /**
   * Blacklisted sources refused in the window, most first (then by address), at most 100, with
   * the most specific blacklist entry that matches now (null: since removed). `totals.blacklistHits`
   * counts the refusals (every BLACKLISTED failure), not the sources.
   */
  blacklistHits: { ip: string; count: number; network: string | null; lastAt: string }[]
  anomalies: {
    /** Every type and severity present (zeros included). */
    byType: Record<AnomalyType, number>
    bySeverity: Record<Severity, number>
    /** Per day of `days`, by the day an anomaly was first seen. */
    perDay: { day: string; byType: Record<AnomalyType, number>; bySeverity: Record<Severity, number> }[]
    /** Anomalies not resolved now, newest first (at most 100). */
    open: { id: string; keyId: string; keyName: string; type: AnomalyType; severity: Severity; status: string; firstSeenAt: string; lastSeenAt: string; count: number }[]
  }
  /** Live keys past their rotation interval, most overdue first. */
  rotationOverdue: (SecurityKeyRef & { rotateEverySeconds: number; dueAt: string; overdueDays: number })[]
  /** Live keys expiring within 30 days of `generatedAt`, soonest first. */
  expiringSoon: (SecurityKeyRef & { daysLeft: number })[]
  /** Live keys with no expiry, oldest first. */
  withoutExpiry: SecurityKeyRef[]
  /** Live keys with no owner, oldest first. */
  withoutOwner: SecurityKeyRef[]
  /** Live keys' ages and expiries. */
  histogram: AgeExpiryHistogram
  /** The state of the installation now, with the result of `audit verify`. */
  summary: ReportSummary
}

export interface SecurityReportOptions {
  /** Start of the window (inclusive). */
  since: Date
  /** End of the window (exclusive); default now. */
  until?: Date
}

const DAY_MS = 86_400_000
const TOP_SOURCES = 20
const LIST_LIMIT = 100
const EXPIRING_DAYS = 30

const zeroCodes = () => Object.fromEntries(INVALID_CODES.map((c) => [c, 0])) as Record<InvalidCode, number>
const zeroTypes = () => Object.fromEntries(ANOMALY_TYPES.map((t) => [t, 0])) as Record<AnomalyType, number>
const zeroSeverities = () => Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>
/** A sparse count per code with the codes in `INVALID_CODES` order (jsonb keeps its own). */
const inCodeOrder = (byCode: Partial<Record<InvalidCode, number>>) => Object.fromEntries(INVALID_CODES.filter((c) => byCode[c]).map((c) => [c, byCode[c]])) as Partial<Record<InvalidCode, number>>

function keyRef(k: LiveKeyRow): SecurityKeyRef {
  return { keyId: k.keyId, name: k.name, type: k.type, owner: k.owner, status: k.status, createdAt: k.createdAt.toISOString(), expiresAt: k.expiresAt?.toISOString() ?? null }
}

const byKeyId = (a: { keyId: string }, b: { keyId: string }) => (a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : 0)

/**
 * SPEC §10 `report security` over [since, until) in UTC days: failures by code, day and source
 * (from `validation_failure_minute`), lockouts (`ip.lockout` audit rows), blacklist hits,
 * anomalies by type and severity, and the live keys (active, rotating or disabled at
 * `generatedAt`) overdue for rotation, expiring within 30 days, without expiry or owner. All
 * sums are PostgreSQL's, read in one repeatable-read snapshot; the summary (with `audit
 * verify`) is read after it. Same window rules and errors as `report usage`.
 */
export async function buildSecurityReport(ctx: CoreContext, options: SecurityReportOptions): Promise<SecurityReport> {
  const now = ctx.clock.now()
  const { since, until, firstDay, days } = reportWindow(options.since, options.until ?? now)
  const snap = await ctx.sql.begin('isolation level repeatable read read only', async (tx) => ({
    failures: await failureTotals(tx, since, until, firstDay),
    sources: await failuresBySource(tx, since, until, TOP_SOURCES),
    hits: await blacklistHits(tx, since, until, now, LIST_LIMIT),
    lockouts: await lockoutRows(tx, since, until, LIST_LIMIT),
    anomalies: await anomalyCounts(tx, since, until, firstDay),
    open: await openAnomalies(tx, LIST_LIMIT),
    keys: await liveKeys(tx, now),
  }))
  const summary = await buildReportSummary(ctx)

  const perDay = days.map(() => zeroCodes())
  const byCode = zeroCodes()
  for (const f of snap.failures.perDay) {
    perDay[f.day]![f.code] += f.count
    byCode[f.code] += f.count
  }
  const failures = INVALID_CODES.reduce((n, c) => n + byCode[c], 0)

  const anomalyDays = days.map(() => ({ byType: zeroTypes(), bySeverity: zeroSeverities() }))
  const byType = zeroTypes()
  const bySeverity = zeroSeverities()
  let anomalies = 0
  for (const a of snap.anomalies) {
    anomalyDays[a.day]!.byType[a.type] += a.count
    anomalyDays[a.day]!.bySeverity[a.severity] += a.count
    byType[a.type] += a.count
    bySeverity[a.severity] += a.count
    anomalies += a.count
  }

  const lockouts: SecurityReport['lockouts'] = []
  for (const r of snap.lockouts.newest) {
    const event = await openAuditRow(ctx.audit, r, 'omit')
    const attempts = event.details?.attempts
    lockouts.push({ ip: r.ipAddress ?? r.target ?? '', at: r.createdAt.toISOString(), attempts: typeof attempts === 'number' ? attempts : null })
  }

  const t = now.getTime()
  const soon = t + EXPIRING_DAYS * DAY_MS
  const rotationOverdue = snap.keys
    .filter((k) => k.rotationDue)
    .map((k) => {
      const due = k.createdAt.getTime() + k.rotateEverySeconds! * 1000
      return { ...keyRef(k), rotateEverySeconds: k.rotateEverySeconds!, dueAt: new Date(due).toISOString(), overdueDays: Math.floor((t - due) / DAY_MS) }
    })
    .sort((a, b) => Date.parse(a.dueAt) - Date.parse(b.dueAt) || byKeyId(a, b))
  const expiringSoon = snap.keys
    .filter((k) => k.expiresAt && k.expiresAt.getTime() > t && k.expiresAt.getTime() <= soon)
    .sort((a, b) => a.expiresAt!.getTime() - b.expiresAt!.getTime() || byKeyId(a, b))
    .map((k) => ({ ...keyRef(k), daysLeft: Math.ceil((k.expiresAt!.getTime() - t) / DAY_MS) }))
  // The live keys come oldest first (then by id), as these two lists want them.
  const withoutExpiry = snap.keys.filter((k) => !k.expiresAt).map(keyRef)
  const withoutOwner = snap.keys.filter((k) => !k.owner?.trim()).map(keyRef)

  return {
    generatedAt: now.toISOString(),
    since: since.toISOString(),
    until: until.toISOString(),
    days,
    totals: {
      failures,
      failuresOfKnownKeys: snap.failures.failuresOfKnownKeys,
      lockouts: snap.lockouts.total,
      blacklistHits: byCode.BLACKLISTED,
      anomalies,
      rotationOverdue: rotationOverdue.length,
      expiringSoon: expiringSoon.length,
      withoutExpiry: withoutExpiry.length,
      withoutOwner: withoutOwner.length,
    },
    failuresByCode: INVALID_CODES.map((code) => ({ code, count: byCode[code] })),
    failuresPerDay: days.map((day, i) => ({ day, byCode: perDay[i]! })),
    failuresBySource: snap.sources.top.map((s) => ({ ip: s.ip, count: s.count, byCode: inCodeOrder(s.byCode), lastAt: s.lastAt.toISOString() })),
    otherSources: { sources: snap.sources.others.sources, count: snap.sources.others.count + snap.failures.folded },
    failuresWithoutSource: snap.failures.withoutSource,
    lockouts,
    blacklistHits: snap.hits.map((h) => ({ ip: h.ip, count: h.count, network: h.network, lastAt: h.lastAt.toISOString() })),
    anomalies: {
      byType,
      bySeverity,
      perDay: days.map((day, i) => ({ day, ...anomalyDays[i]! })),
      open: snap.open.map((a) => ({ ...a, firstSeenAt: a.firstSeenAt.toISOString(), lastSeenAt: a.lastSeenAt.toISOString() })),
    },
    rotationOverdue,
    expiringSoon,
    withoutExpiry,
    withoutOwner,
    histogram: ageExpiryHistogram(
      snap.keys.map((k) => ({ createdAt: k.createdAt.toISOString(), expiresAt: k.expiresAt?.toISOString() ?? null })),
      now,
    ),
    summary,
  }
}
