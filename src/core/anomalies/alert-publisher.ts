import { notifyProcesses, PG_CHANNELS, redisAlertChannel } from '../channels.js'
import type { CoreContext } from '../context.js'
import type { Disposer } from '../events.js'

/** Per-key anomaly state lives this long in Redis (the latest detection of each type). */
const STATE_TTL_SECONDS = 86_400

/**
 * Side effect: every detection goes out as JSON — over PostgreSQL NOTIFY (`momentry_alerts`)
 * in every mode, so `watch` is live without Redis; and, with Redis, on the alert channel
 * (`<prefix>anomaly:alerts`, the SPEC §6 contract) and into the per-key state hash
 * `<prefix>anomaly:state:<keyId>` (one field per type), for dashboards.
 */
export function alertsOnAnomaly(ctx: CoreContext): Disposer {
  const channel = redisAlertChannel(ctx.config.redisPrefix)
  const off = ctx.bus.on('anomaly.detected', async ({ alert }) => {
    const message = JSON.stringify(alert)
    await notifyProcesses(ctx, PG_CHANNELS.alerts, message, `the ${alert.severity} ${alert.type} alert of ${alert.keyId}`)
    if (!ctx.config.redisUrl) return
    const redis = await ctx.redis().catch(() => undefined)
    if (!redis?.isReady) return
    const state = `${ctx.config.redisPrefix}anomaly:state:${alert.keyId}`
    await redis.publish(channel, message)
    await redis.multi().hSet(state, alert.type, message).expire(state, STATE_TTL_SECONDS).exec()
  })
  return async () => off()
}
