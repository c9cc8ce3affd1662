import { channels } from '../channels.js'
import type { CoreContext } from '../context.js'
import type { Disposer, MomentryEvent } from '../events.js'

/**
 * Side effect: keep this process and every other one in step with a change made here. A
 * key's revoke, rotate, disable or enable drops it from this process's cache at once and is
 * published for the others (`<prefix>cache:invalidate`); so are blacklist changes and
 * lockouts, which the others' mirrors apply (validation/mirrors.ts). Without Redis there is
 * nobody to tell yet: other processes re-read within their refresh period.
 */
export function broadcastChanges(ctx: CoreContext): Disposer {
  const names = channels(ctx.config.redisPrefix)
  const publish = async (channel: string, payload: object) => {
    if (!ctx.config.redisUrl) return
    try {
      const redis = await ctx.redis()
      if (redis?.isReady) await redis.publish(channel, JSON.stringify(payload))
    } catch (error) {
      ctx.log.warn(`could not tell other processes via Redis (${(error as Error).message}); their caches expire within CACHE_TTL_SECONDS`)
    }
  }
  const onEvent = (event: MomentryEvent): Promise<void> | undefined => {
    switch (event.type) {
      case 'key.revoked':
      case 'key.rotated':
      case 'key.disabled':
      case 'key.enabled':
        ctx.validation.cache.invalidateKey(event.keyId)
        return publish(names.invalidate, { keyId: event.keyId })
      case 'blacklist.changed':
        return publish(names.blacklist, { network: event.network, change: event.change })
      case 'ip.locked_out':
        return publish(names.lockout, { ip: event.ip, retryAfterSeconds: event.retryAfterSeconds })
      default:
        return undefined
    }
  }
  const off = ctx.bus.on('*', onEvent)
  return async () => off()
}
