import { parseNetwork } from '../blacklist/ip.js'
import { activeEntries } from '../blacklist/repo.js'
import { blacklistMessage, channels, invalidateMessage, lockoutMessage } from '../channels.js'
import type { CoreContext } from '../context.js'
import type { Disposer } from '../events.js'
import type { Redis } from '../redis.js'
import { pruneFailures } from './failure-repo.js'
import { listLockedOutIps } from './locked-out.js'

/** How often the mirrors are re-read even without a message. */
const REFRESH_MS = 30_000
/** How often Redis is tried again when it was unreachable at start. */
const REDIS_RETRY_MS = 5_000

/**
 * Side effect of a long-running process: load the blacklist and the locked-out IPs into
 * `ctx.validation`, keep them fresh — messages from other processes on Redis pub/sub, this
 * process's own blacklist changes, a re-read every 30 s and at the next blacklist expiry —
 * and only then let validation decide from memory. After the subscription reconnects (or
 * Redis comes up later than the process), whatever was published meanwhile is lost: the key
 * cache starts afresh and the mirrors are reloaded.
 */
export async function mirrorValidationState(ctx: CoreContext): Promise<Disposer> {
  const state = ctx.validation
  const names = channels(ctx.config.redisPrefix)
  const withRedis = Boolean(ctx.config.redisUrl)
  let subscriber: Redis | undefined
  let expiryTimer: NodeJS.Timeout | undefined
  let retryTimer: NodeJS.Timeout | undefined
  let stopped = false

  const reloadBlacklist = async () => {
    const entries = await activeEntries(ctx.sql, ctx.clock.now())
    state.setBlacklist(entries.map((e) => parseNetwork(e.network)))
    // The next expiry, if it comes before the periodic refresh would see it (a timer over
    // 2^31 ms would fire at once, so later ones are left to the refresh).
    clearTimeout(expiryTimer)
    expiryTimer = undefined
    const wait = Math.min(...entries.map((e) => e.expiresAt?.getTime() ?? Infinity)) - ctx.clock.now().getTime()
    if (wait < REFRESH_MS && !stopped) {
      expiryTimer = setTimeout(() => void reloadBlacklist().catch(() => {}), Math.max(0, wait) + 10)
      expiryTimer.unref()
    }
  }
  const warnBlacklist = (e: Error) => ctx.log.warn(`blacklist reload failed: ${e.message}`)

  /** Lockouts set elsewhere: the limiter's Redis keys, or PostgreSQL without Redis. */
  const loadLockouts = async () => {
    for (const l of (await listLockedOutIps(ctx)) ?? []) state.lockOut(l.ip, l.retryAfterSeconds)
  }

  const onMessage = (channel: string, message: string) => {
    try {
      const data: unknown = JSON.parse(message)
      if (channel === names.invalidate) state.cache.invalidateKey(invalidateMessage.parse(data).keyId)
      else if (channel === names.blacklist) {
        blacklistMessage.parse(data)
        void reloadBlacklist().catch(warnBlacklist)
      } else if (channel === names.lockout) {
        const m = lockoutMessage.parse(data)
        state.lockOut(m.ip, m.retryAfterSeconds)
      }
    } catch {
      ctx.log.warn(`ignored a malformed message on ${channel}`)
    }
  }

  const resync = () => {
    state.cache.clear()
    ctx.log.info('Redis subscription restored: key cache cleared, blacklist and lockouts reloaded')
    void reloadBlacklist().catch(warnBlacklist)
    void loadLockouts().catch((e: Error) => ctx.log.warn(`lockout reload failed: ${e.message}`))
  }

  const listen = async (redis: Redis) => {
    await loadLockouts()
    const sub = redis.duplicate()
    sub.on('error', () => {})
    let connectedOnce = false
    sub.on('ready', () => {
      if (connectedOnce) resync()
      connectedOnce = true
    })
    await sub.connect()
    subscriber = sub
    await sub.subscribe([names.invalidate, names.blacklist, names.lockout], (message, channel) => onMessage(channel, message))
  }

  /** Redis was unreachable at start: keep trying; once it answers, failures are counted there again. */
  const retryRedis = () => {
    retryTimer = setTimeout(() => {
      void (async () => {
        const redis = await ctx.redis().catch(() => undefined)
        if (stopped) return
        if (!redis) return retryRedis()
        try {
          state.resetCounting()
          state.cache.clear()
          await listen(redis)
          await reloadBlacklist()
          ctx.log.info('Redis is reachable: cross-process invalidation and shared lockout are on')
        } catch (error) {
          ctx.log.warn(`Redis: ${(error as Error).message}; retrying`)
          retryRedis()
        }
      })()
    }, REDIS_RETRY_MS)
    retryTimer.unref()
  }

  await reloadBlacklist()
  const refresh = setInterval(() => {
    state.sweepLockouts()
    // Without Redis, lockouts by other processes reach this one by reading them again.
    if (!withRedis) void loadLockouts().then(() => pruneFailures(ctx.sql)).catch((e: Error) => ctx.log.warn(`lockout refresh failed: ${e.message}`))
    void reloadBlacklist().catch((e: Error) => ctx.log.warn(`blacklist refresh failed: ${e.message}`))
  }, REFRESH_MS)
  refresh.unref()
  // This process's own blacklist changes reach its mirror at once (others hear them on Redis).
  const offBlacklist = ctx.bus.on('blacklist.changed', () => reloadBlacklist())

  const redis = await ctx.redis().catch((error: Error) => {
    ctx.log.warn(`Redis is unavailable (${error.message}): no cross-process invalidation until it is back (retrying every ${REDIS_RETRY_MS / 1000} s)`)
    return undefined
  })
  if (!withRedis) await loadLockouts()
  if (redis) await listen(redis)
  // Answering from the mirrors starts only once they are loaded.
  state.setLive(true)
  if (!redis && withRedis) retryRedis()

  return async () => {
    stopped = true
    state.setLive(false)
    offBlacklist()
    clearInterval(refresh)
    clearTimeout(expiryTimer)
    clearTimeout(retryTimer)
    const sub = subscriber
    subscriber = undefined
    if (sub) await sub.close().catch(() => sub.destroy())
  }
}
