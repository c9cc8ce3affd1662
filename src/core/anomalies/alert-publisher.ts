import { channels } from '../channels.js'
import type { CoreContext } from '../context.js'
import type { Disposer } from '../events.js'

/** Per-key anomaly state lives this long in Redis (the latest detection of each type). */
const STATE_TTL_SECONDS = 86_400

/**
 * Side effect: every detection goes out as JSON on the alert channel
 * (`<prefix>anomaly:alerts`, SPEC §6) and into the per-key state hash
 * `<prefix>anomaly:state:<keyId>` (one field per type), for dashboards. Needs Redis; without
 * it the alert is only in PostgreSQL (and webhooks), and `watch` polls for it.
 */
export function alertsOnAnomaly(ctx: CoreContext): Disposer {
  const channel = channels(ctx.config.redisPrefix).alerts
  const off = ctx.bus.on('anomaly.detected', async ({ alert }) => {
    if (!ctx.config.redisUrl) return
    const redis = await ctx.redis().catch(() => undefined)
    if (!redis?.isReady) return
    const state = `${ctx.config.redisPrefix}anomaly:state:${alert.keyId}`
    await redis.publish(channel, JSON.stringify(alert))
    await redis.multi().hSet(state, alert.type, JSON.stringify(alert)).expire(state, STATE_TTL_SECONDS).exec()
  })
  return async () => off()
}
