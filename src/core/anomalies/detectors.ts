import type { AnomalyType, Severity } from './anomaly-view.js'

export interface Detection {
  type: AnomalyType
  severity: Severity
  observed: number
  threshold: number
  windowSeconds: number
  details: Record<string, unknown>
}

/**
 * Severity by how far past the threshold: just over is low, 1.5× medium, 2× high, 4×
 * critical. The detectors below are pure: the engine feeds them counts.
 */
export function severityFor(observed: number, threshold: number): Severity {
  const ratio = observed / threshold
  if (ratio >= 4) return 'critical'
  if (ratio >= 2) return 'high'
  if (ratio >= 1.5) return 'medium'
  return 'low'
}

/** More than `max` validations of one key within one minute. */
export function detectRequestRate(countThisMinute: number, max: number): Detection | undefined {
  if (countThisMinute <= max) return undefined
  return { type: 'high_request_rate', severity: severityFor(countThisMinute, max), observed: countThisMinute, threshold: max, windowSeconds: 60, details: {} }
}

/**
 * Failed share above `maxRate` over the window, once at least `minRequests` were seen. A
 * rate cannot pass 1, so severity measures how much of the headroom above the threshold
 * is used: a key that fails every time is critical.
 */
export function detectErrorRate(ok: number, fail: number, maxRate: number, minRequests: number, windowSeconds: number): Detection | undefined {
  const total = ok + fail
  if (total < minRequests || total === 0) return undefined
  const rate = fail / total
  if (rate <= maxRate) return undefined
  const used = maxRate >= 1 ? 1 : (rate - maxRate) / (1 - maxRate)
  const severity: Severity = used >= 0.9 ? 'critical' : used >= 0.5 ? 'high' : used >= 0.25 ? 'medium' : 'low'
  return { type: 'high_error_rate', severity, observed: Number(rate.toFixed(4)), threshold: maxRate, windowSeconds, details: { ok, fail } }
}

/** More than `max` distinct source IPs for one key within the hour. */
export function detectMultipleIps(distinctIps: number, max: number): Detection | undefined {
  if (distinctIps <= max) return undefined
  return { type: 'multiple_ips', severity: severityFor(distinctIps, max), observed: distinctIps, threshold: max, windowSeconds: 3600, details: {} }
}

export interface UsageHistory {
  /** Validations in the history window, all hours together. */
  total: number
  /** Days between the first use in the window and now. */
  days: number
  /** Validations per local hour of day (24 entries). */
  byHour: number[]
}

/** A key has its own history once it has ≥ 7 days or ≥ 100 uses of it. */
export const hasHistory = (h: UsageHistory) => h.days >= 7 || h.total >= 100

const inQuietHours = (hour: number, quiet: { from: number; to: number }) =>
  quiet.from <= quiet.to ? hour >= quiet.from && hour < quiet.to : hour >= quiet.from || hour < quiet.to

/**
 * Use at an hour where the key's own history shows almost no activity (under 1% of its
 * uses, and never more than one in that hour); before it has a history, use inside the
 * configured quiet hours.
 */
export function detectUnusualTime(hour: number, history: UsageHistory, quiet: { from: number; to: number }): Detection | undefined {
  if (hasHistory(history)) {
    const atHour = history.byHour[hour] ?? 0
    const share = history.total ? atHour / history.total : 0
    if (share >= 0.01 || atHour > 1) return undefined
    return { type: 'unusual_time', severity: 'medium', observed: hour, threshold: 0.01, windowSeconds: 3600, details: { basis: 'history', shareAtHour: share, uses: history.total } }
  }
  if (!inQuietHours(hour, quiet)) return undefined
  return { type: 'unusual_time', severity: 'low', observed: hour, threshold: quiet.from, windowSeconds: 3600, details: { basis: 'quiet_hours', quietHours: `${quiet.from}-${quiet.to}` } }
}
