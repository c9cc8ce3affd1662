import type { AnomalyType, Severity } from '../anomalies/anomaly-view.js'
import type { InvalidCode } from '../validation/verify-key.js'
import type { AgeExpiryHistogram } from './histogram.js'
import type { ReportSummary } from './summary.js'

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
  /** Source IPs with failures, most first (then by address), at most 20; the rest summed in `otherSources`. */
  failuresBySource: { ip: string; count: number; byCode: Partial<Record<InvalidCode, number>>; lastAt: string }[]
  otherSources: { sources: number; count: number }
  /** Failures without a source IP (a CLI `validate` with no --ip, say). */
  failuresWithoutSource: number
  /** Every lockout in the window, newest first (at most 100; `totals.lockouts` counts all). */
  lockouts: { ip: string; at: string; attempts: number | null }[]
  /** Blacklisted sources refused in the window, most first, with the blacklist entry that matches now (null: since removed). */
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
