import { keyNames } from '../api-keys/repo.js'
import { appendAudit } from '../audit/repo.js'
import { newPublicId } from '../random-id.js'
import type { CoreContext } from '../context.js'
import type { AnomalyAlert } from './anomaly-view.js'
import type { Detection, UsageHistory } from './detectors.js'
import { detectErrorRate, detectMultipleIps, detectRequestRate, detectUnusualTime } from './detectors.js'
import { upsertAnomaly, usageByHour, windowCounts } from './repo.js'


const MINUTE = 60_000
const HISTORY_TTL_MS = 10 * MINUTE

/** What detection remembers between runs (per process): key histories for unusual_time. */
export interface DetectionMemory {
  histories: Map<string, { at: number; history: UsageHistory }>
}

export const newDetectionMemory = (): DetectionMemory => ({ histories: new Map() })

/**
 * Run the four detectors for keys that were just used, from the per-minute aggregates
 * the usage recorder wrote and the per-hour IP HyperLogLogs in Redis. Every detection is
 * recorded (a new anomaly, audited, or one more occurrence of the open one) and announced
 * on the event bus as `anomaly.detected`; subscribers publish it on Redis, deliver
 * webhooks (only when it opens an anomaly or raises its severity: see `sendsWebhook`) and
 * apply ANOMALY_AUTO_DISABLE. Returns the alerts raised.
 */
export async function detectAnomalies(ctx: CoreContext, keyIds: string[], memory: DetectionMemory = newDetectionMemory()): Promise<AnomalyAlert[]> {
  if (keyIds.length === 0) return []
  const cfg = ctx.config.anomaly
  const now = ctx.clock.now()
  const minute = new Date(now.getTime() - (now.getTime() % MINUTE))
  const windowStart = new Date(minute.getTime() - Math.max(0, cfg.errorWindowSeconds * 1000 - MINUTE))
  const counts = await windowCounts(ctx.sql, keyIds, minute, windowStart)
  const ips = await distinctIps(ctx, keyIds, now)
  // The process's local zone, so SQL's hour of day agrees with Date#getHours().
  const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone || process.env.TZ || 'UTC'
  const hourStart = new Date(now.getTime() - 60 * MINUTE)

  const found: { keyId: string; detection: Detection }[] = []
  for (const keyId of keyIds) {
    const c = counts.get(keyId)
    const history = await rememberedHistory(ctx, memory, keyId, hourStart, timeZone)
    const detections = [
      c && detectRequestRate(c.minuteTotal, cfg.maxRequestsPerMinute),
      c && detectErrorRate(c.windowOk, c.windowFail, cfg.maxErrorRate, cfg.minRequests, cfg.errorWindowSeconds),
      ips.has(keyId) ? detectMultipleIps(ips.get(keyId)!, cfg.maxIpsPerHour) : undefined,
      c && c.minuteTotal > 0 ? detectUnusualTime(now.getHours(), history, cfg.quietHours) : undefined,
    ]
    for (const d of detections) if (d) found.push({ keyId, detection: d })
  }
  if (found.length === 0) return []

  const names = await keyNames(ctx.sql, [...new Set(found.map((f) => f.keyId))])
  const alerts: AnomalyAlert[] = []
  for (const { keyId, detection } of found) {
    if (!names.has(keyId)) continue // usage reported for a key that does not exist
    const { row, created, previousSeverity } = await ctx.sql.begin(async (tx) => {
      const result = await upsertAnomaly(tx, newPublicId('anm_'), keyId, detection, now)
      if (result.created) {
        await appendAudit(ctx, tx, {
          keyId,
          action: 'anomaly.detect',
          actor: 'momentry:detector',
          at: now,
          details: { anomalyId: result.row.anomaly_id, type: detection.type, severity: detection.severity, observed: detection.observed, threshold: detection.threshold },
        })
      }
      return result
    })
    const alert: AnomalyAlert = {
      id: row.anomaly_id,
      keyId,
      keyName: names.get(keyId)!,
      type: detection.type,
      severity: row.severity,
      observed: detection.observed,
      threshold: detection.threshold,
      windowSeconds: detection.windowSeconds,
      detectedAt: now.toISOString(),
    }
    alerts.push(alert)
    ctx.bus.emit({ type: 'anomaly.detected', alert, created, previousSeverity, at: now.toISOString() })
  }
  return alerts
}

/** Distinct source IPs per key this hour, from the usage recorder's HyperLogLogs (needs Redis). */
async function distinctIps(ctx: CoreContext, keyIds: string[], now: Date): Promise<Map<string, number>> {
  const redis = await ctx.redis().catch(() => undefined)
  if (!redis?.isReady) return new Map()
  const hour = Math.floor(now.getTime() / (60 * MINUTE))
  const multi = redis.multi()
  for (const id of keyIds) multi.pfCount(`${ctx.config.redisPrefix}ips:${id}:${hour}`)
  const counts = (await multi.exec()) as unknown as number[]
  return new Map(keyIds.map((id, i) => [id, Number(counts[i] ?? 0)]))
}

async function rememberedHistory(ctx: CoreContext, memory: DetectionMemory, keyId: string, until: Date, timeZone: string): Promise<UsageHistory> {
  const hit = memory.histories.get(keyId)
  if (hit && ctx.clock.now().getTime() - hit.at < HISTORY_TTL_MS) return hit.history
  const history = await usageByHour(ctx.sql, keyId, until, timeZone)
  if (memory.histories.size > 50_000) memory.histories.clear()
  memory.histories.set(keyId, { at: ctx.clock.now().getTime(), history })
  return history
}
