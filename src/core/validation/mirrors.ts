import { parseNetwork } from '../blacklist/ip.js'
import { activeEntries } from '../blacklist/repo.js'
import { FLUSH_ALL, keyChangedMessage, lockoutClearedMessage, lockoutMessage, PG_CHANNELS } from '../channels.js'
import type { CoreContext } from '../context.js'
import type { ListenOptions } from '../db/listener.js'
import { listenTo } from '../db/listener.js'
import { classifyPostgresError } from '../db/connect.js'
import { ConnectionError } from '../errors.js'
import type { Disposer } from '../events.js'
import { pruneFailures } from './failure-repo.js'
import { listLockedOutIps } from './locked-out.js'

/** How often the mirrors are re-read even without a notification. */
const REFRESH_MS = 30_000
/** How often a configured Redis that was unreachable at start is tried again (failure counting moves there). */
const REDIS_RETRY_MS = 5_000

export interface MirrorOptions extends Pick<ListenOptions, 'heartbeatMs' | 'heartbeatTimeoutMs'> {
  /** Wait before the LISTEN connection is tried again, and before a failed reload is (default 250 ms, doubling up to 5 s for reloads). */
  retryMs?: number
}

/**
 * Side effect of a long-running process: keep `ctx.validation` in step with every other
 * process, over PostgreSQL LISTEN/NOTIFY in every mode (Redis or not). Key changes drop the
 * key from the cache and read its new state back at once (a flush-all, after a TRUNCATE or an
 * import, drops the whole cache) and blacklist changes reload the blacklist the moment they
 * commit (triggers send them from the changing transaction); lockouts arrive from the process
 * that counted them. Only once the blacklist and the lockouts are loaded does validation decide
 * from memory. While the LISTEN connection is down (closed, or silent: see `listenTo`'s
 * heartbeat) nothing can be heard, so the cache's positive entries are re-read and the
 * mirrors are not used; when it is back the cache starts afresh and the mirrors are
 * reloaded (again every `retryMs` until that works). Re-read every 30 s and at the next
 * blacklist expiry all the same.
 */
export async function mirrorValidationState(ctx: CoreContext, options: MirrorOptions = {}): Promise<Disposer> {
  const state = ctx.validation
  const withRedis = Boolean(ctx.config.redisUrl)
  const retryMs = options.retryMs ?? 250
  let expiryTimer: NodeJS.Timeout | undefined
  let redisTimer: NodeJS.Timeout | undefined
  let resyncTimer: NodeJS.Timeout | undefined
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
  const warn = (what: string) => (e: Error) => ctx.log.warn(`${what}: ${e.message}`)

  /** Lockouts set elsewhere: the limiter's Redis keys, or PostgreSQL without Redis. */
  const loadLockouts = async () => {
    for (const l of (await listLockedOutIps(ctx)) ?? []) state.lockOut(l.ip, l.retryAfterSeconds)
  }

  /** The LISTEN connection as last reported (`listener` itself is not there yet during the first onUp). */
  let listening = false
  /** Until the first listen and load succeeded, a failure is the start's error, not a warning. */
  let started = false
  let resyncs = 0
  /** Start afresh: what was sent while nobody listened is lost. Only the latest resync, with the connection still up, goes live. */
  const resync = async (): Promise<void> => {
    const mine = ++resyncs
    clearTimeout(resyncTimer)
    state.cache.clear()
    await reloadBlacklist()
    await loadLockouts()
    if (stopped || !listening || mine !== resyncs) {
      ctx.log.debug('mirrors reloaded, but not used: the LISTEN connection dropped (or reloaded again) meanwhile')
      return
    }
    state.setTrusted(true)
    state.setLive(true)
    state.setListening(true)
    ctx.log.debug('mirrors reloaded: deciding from memory')
  }
  /** Failed resyncs in a row: the wait before the next doubles from `retryMs` up to 5 s. */
  let failedResyncs = 0
  /** A resync that failed is tried again while the connection stays up (the start's own failure is thrown instead). */
  const resyncUntilDone = (): Promise<void> => {
    const run = resync()
    const mine = resyncs
    return run.then(
      () => void (failedResyncs = 0),
      (error: Error) => {
        if (!started) throw error
        // Superseded by a later resync, or down again (the next onUp resyncs): nothing to retry.
        if (stopped || !listening || mine !== resyncs) return
        const wait = Math.min(retryMs * 2 ** failedResyncs++, Math.max(retryMs, 5_000))
        warn(`reloading the blacklist and lockouts failed (trying again in ${wait} ms)`)(error)
        resyncTimer = setTimeout(() => void (listening && !stopped && resyncUntilDone()), wait)
        resyncTimer.unref()
      },
    )
  }

  const onNotify = (channel: string, payload: string) => {
    try {
      if (channel === PG_CHANNELS.keyChanged) {
        const keyId = keyChangedMessage.parse(payload)
        if (keyId === FLUSH_ALL) state.cache.clear()
        else state.cache.refreshKey(keyId)
      } else if (channel === PG_CHANNELS.blacklistChanged) void reloadBlacklist().catch(warn('blacklist reload failed'))
      else if (channel === PG_CHANNELS.lockout) {
        const m = lockoutMessage.parse(JSON.parse(payload))
        state.lockOut(m.ip, m.retryAfterSeconds)
      } else if (channel === PG_CHANNELS.lockoutCleared) {
        const ip = lockoutClearedMessage.parse(payload)
        if (ip !== FLUSH_ALL) state.forgetLockout(ip)
        else {
          // Every lockout was lifted: forget them all, then re-read any set since.
          state.forgetLockouts()
          void loadLockouts().catch(warn('lockout reload failed'))
        }
      }
    } catch {
      ctx.log.warn(`ignored a malformed notification on ${channel}`)
    }
  }

  let lastDown: unknown
  let synced: Promise<void> | undefined
  const listener = await listenTo(
    ctx.sql,
    [PG_CHANNELS.keyChanged, PG_CHANNELS.blacklistChanged, PG_CHANNELS.lockout, PG_CHANNELS.lockoutCleared],
    {
      onNotify,
      onUp: (reconnected) => {
        listening = true
        if (!started) {
          // Awaited, and its failure thrown, by the start below (never left unhandled).
          synced = resyncUntilDone()
          synced.catch(() => {})
          return
        }
        void resyncUntilDone()
        if (reconnected) ctx.log.info('PostgreSQL LISTEN connection restored: key cache cleared, blacklist and lockouts reloaded')
      },
      onDown: (reason, error) => {
        listening = false
        clearTimeout(resyncTimer)
        lastDown = error ?? new Error(reason)
        state.setLive(false)
        state.setTrusted(false)
        if (started) {
          state.setListening(false)
          ctx.log.warn(`cannot hear other processes' changes (${reason}): cached keys are re-read from PostgreSQL until the LISTEN connection is back`)
        }
      },
    },
    { retryMs, heartbeatMs: options.heartbeatMs, heartbeatTimeoutMs: options.heartbeatTimeoutMs },
  )
  const failStart = async (error: unknown): Promise<never> => {
    stopped = true
    state.setLive(false)
    clearTimeout(expiryTimer)
    await listener.close()
    throw classifyPostgresError(error) ?? error
  }
  if (!listener.up || !synced) {
    await listener.close()
    throw (
      classifyPostgresError(lastDown) ??
      new ConnectionError(`cannot LISTEN on PostgreSQL (${(lastDown as Error).message})`, 'Check that PostgreSQL is running and reachable, then run `momentry doctor`')
    )
  }
  await synced.catch(failStart)
  started = true
  // Dropped while the first load ran, its resync did not go live: the next onUp's will. Back
  // already, a later resync may have superseded it: make sure one goes live, retried if need be.
  if (!listening) state.setListening(false)
  else if (!state.longRunning) void resyncUntilDone()
  // This process's own blacklist changes reach its mirror before the change's caller goes on
  // (its NOTIFY comes a moment later and reloads once more).
  const offBlacklist = ctx.bus.on('blacklist.changed', () => reloadBlacklist())

  const refresh = setInterval(() => {
    state.sweepLockouts()
    // Without Redis, lockouts are counted in PostgreSQL: re-read them (and drop old windows).
    if (!withRedis) void loadLockouts().then(() => pruneFailures(ctx.sql)).catch(warn('lockout refresh failed'))
    void reloadBlacklist().catch(warn('blacklist refresh failed'))
  }, REFRESH_MS)
  refresh.unref()

  // Failure counting is made ready at start (and when it moves back to Redis), so that the
  // first refusal does not wait for it to load.
  const prepareCounting = () => void state.prepareFailureCounting().catch(warn('preparing failed-attempt counting failed'))
  // A configured Redis that is away at start: failures are counted in this process's memory
  // meanwhile; once it answers, counting moves back to it.
  const tryRedis = () => {
    redisTimer = setTimeout(() => {
      void ctx.redis().then(
        (redis) => {
          if (stopped) return
          if (!redis?.isReady) return tryRedis()
          state.resetCounting()
          prepareCounting()
          ctx.log.info('Redis is reachable: failed attempts are counted there again')
        },
        () => !stopped && tryRedis(),
      )
    }, REDIS_RETRY_MS)
    redisTimer.unref()
  }
  if (withRedis && !(await ctx.redis().catch(() => undefined))?.isReady) {
    ctx.log.warn(`Redis is unavailable: failed attempts are counted in this process until it is back (retrying every ${REDIS_RETRY_MS / 1000} s)`)
    tryRedis()
  } else prepareCounting()

  return async () => {
    stopped = true
    state.setLive(false)
    state.setListening(undefined)
    offBlacklist()
    clearInterval(refresh)
    clearTimeout(expiryTimer)
    clearTimeout(redisTimer)
    clearTimeout(resyncTimer)
    await listener.close()
  }
}
