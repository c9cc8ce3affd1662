import type { AnomalyAlert, AnomalyView } from '../anomalies/anomaly-view.js'
import { ANOMALY_TYPES, SEVERITIES } from '../anomalies/anomaly-view.js'
import type { CoreContext } from '../context.js'
import type { Redis } from '../redis.js'
import type { LockedOutIp } from '../validation/locked-out.js'
import { listLockedOutIps } from '../validation/locked-out.js'
import type { AnomalyWithKey, KeyTraffic } from './repo.js'
import { countUnresolved, topKeys, unresolvedAnomalies, validationsPerMinute } from './repo.js'

type AnomalyType = AnomalyView['type']
type Severity = AnomalyView['severity']

/** An alert as the dashboard lists it: the Redis alert plus what PostgreSQL knows of it. */
export interface WatchAlert extends AnomalyAlert {
  status: AnomalyView['status']
  count: number
}

export interface DashboardSnapshot {
  at: string
  /** Open and acknowledged anomalies, most recently seen first, at most `limit`. */
  anomalies: WatchAlert[]
  limit: number
  counts: { total: number; byType: Record<AnomalyType, number>; bySeverity: Record<Severity, number> }
  /** One entry per minute, oldest first, zero-filled, the current minute last. */
  perMinute: { minute: string; ok: number; fail: number }[]
  topTraffic: KeyTraffic[]
  topFailures: KeyTraffic[]
  /** null without Redis: lockouts then live in each process's memory. */
  lockedOutIps: LockedOutIp[] | null
}

export interface SnapshotOptions {
  /** The connection to read lockouts from (the dashboard's own); else the context's. */
  redis?: Redis
  minutes?: number
  anomalies?: number
  top?: number
}

export const toWatchAlert = (a: AnomalyWithKey): WatchAlert => ({
  id: a.id,
  keyId: a.keyId,
  keyName: a.keyName,
  type: a.type,
  severity: a.severity,
  observed: a.observed,
  threshold: a.threshold,
  windowSeconds: a.windowSeconds,
  detectedAt: a.lastSeenAt,
  status: a.status,
  count: a.count,
})

/** Everything the dashboard shows besides the live feed, read in one round of queries. */
export async function loadDashboard(ctx: CoreContext, options: SnapshotOptions = {}): Promise<DashboardSnapshot> {
  const minutes = options.minutes ?? 30
  const limit = options.anomalies ?? 100
  const now = ctx.clock.now()
  const thisMinute = Math.floor(now.getTime() / 60_000) * 60_000
  const since = new Date(thisMinute - (minutes - 1) * 60_000)
  const hourAgo = new Date(now.getTime() - 3_600_000)
  const [anomalies, counts, perMinute, topTraffic, topFailures, locked] = await Promise.all([
    unresolvedAnomalies(ctx.sql, limit),
    countUnresolved(ctx.sql),
    validationsPerMinute(ctx.sql, since),
    topKeys(ctx.sql, hourAgo, 'total', options.top ?? 5),
    topKeys(ctx.sql, hourAgo, 'failures', options.top ?? 5),
    listLockedOutIps(ctx, options.redis).catch(() => undefined),
  ])
  const byType = Object.fromEntries(ANOMALY_TYPES.map((t) => [t, 0])) as Record<AnomalyType, number>
  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>
  let total = 0
  for (const c of counts) {
    byType[c.type as AnomalyType] += c.count
    bySeverity[c.severity as Severity] += c.count
    total += c.count
  }
  const byMinute = new Map(perMinute.map((m) => [m.minute.getTime(), m]))
  return {
    at: now.toISOString(),
    anomalies: anomalies.map(toWatchAlert),
    limit,
    counts: { total, byType, bySeverity },
    perMinute: Array.from({ length: minutes }, (_, i) => {
      const t = since.getTime() + i * 60_000
      const m = byMinute.get(t)
      return { minute: new Date(t).toISOString(), ok: m?.ok ?? 0, fail: m?.fail ?? 0 }
    }),
    topTraffic,
    topFailures,
    lockedOutIps: locked ?? null,
  }
}
