import type { BlockList } from 'node:net'
import { timingSafeEqual } from 'node:crypto'

import * as z from 'zod'

import type { ValidationRecord } from '../api-keys/repo.js'
import { findKeyByHash } from '../api-keys/repo.js'
import { appendAudit } from '../audit/repo.js'
import { buildBlockList, ipFamily, parseNetwork } from '../blacklist/ip.js'
import { activeEntries, findContaining } from '../blacklist/repo.js'
import type { Clock } from '../clock.js'
import type { Config } from '../config.js'
import type { Sql } from '../db/connect.js'
import type { EventBus, MomentryEvent } from '../events.js'
import type { Logger } from '../log.js'
import type { Redis } from '../redis.js'
import { disableKey } from '../api-keys/change-key-state.js'
import { notifyRotationDue } from '../api-keys/rotate-key.js'
import type { AnomalyAlert } from '../anomalies/detect-anomalies.js'
import { detectAnomalies, newDetectionMemory } from '../anomalies/detect-anomalies.js'
import type { Severity } from '../anomalies/detectors.js'
import type { CoreContext } from '../context.js'
import { ConflictError } from '../errors.js'
import { listLockedOutIps } from './locked-out.js'
import type { OutboxDeps } from '../webhooks/outbox.js'
import { deliverDue, enqueueEvent } from '../webhooks/outbox.js'
import { UsageRecorder } from '../usage/usage-recorder.js'
import type { CachedLookup } from './key-cache.js'
import { KeyCache } from './key-cache.js'
import type { FailureCount } from './lockout.js'
import { pruneFailures } from './failure-repo.js'
import { Lockout } from './lockout.js'

export interface ValidationDeps {
  sql: () => Sql
  redis: () => Promise<Redis | undefined>
  bus: EventBus
  config: Config
  clock: Clock
  log: Logger
  actor: string
}

/** Messages between momentry processes on Redis pub/sub, validated on receipt. */
const invalidateMessage = z.object({ keyId: z.string().max(64) })
const blacklistMessage = z.object({ network: z.string().max(64), change: z.enum(['added', 'removed']) })
const lockoutMessage = z.object({ ip: z.string().max(64), retryAfterSeconds: z.number().int().positive() })

export const channels = (prefix: string) => ({
  invalidate: `${prefix}cache:invalidate`,
  blacklist: `${prefix}blacklist:changed`,
  lockout: `${prefix}lockout`,
  /** Every anomaly detection, as JSON: {id, keyId, keyName, type, severity, observed, threshold, windowSeconds, detectedAt}. */
  alerts: `${prefix}anomaly:alerts`,
})

const SEVERITY_RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 }

/** How often a long-running process re-reads the blacklist even without a message. */
const BLACKLIST_REFRESH_MS = 30_000
/** How often a long-running process tries Redis again when it was unreachable at start. */
const REDIS_RETRY_MS = 5_000

/**
 * Everything validation keeps between calls: the key cache, failed-attempt counting, the
 * usage buffer, and — in a long-running process (`serve`, a library user) after
 * `start()` — in-memory mirrors of the blacklist and of locked-out IPs kept fresh over
 * Redis pub/sub, so that a good request does no I/O at all. A one-shot process asks
 * PostgreSQL and Redis directly instead.
 */
export class ValidationRuntime {
  readonly cache: KeyCache
  readonly usage: UsageRecorder
  private lockoutP?: Promise<Lockout>
  private redisClient?: Redis
  private subscriber?: Redis
  private blocklist?: BlockList
  private readonly lockedUntil = new Map<string, number>()
  /** Blacklist answers per IP, valid until the list is next rebuilt. */
  private readonly blacklistMemo = new Map<string, boolean>()
  private blacklistSize = 0
  private refreshTimer?: NodeJS.Timeout
  /** The next blacklist expiry within one refresh period (one timer, replaced on each reload). */
  private expiryTimer?: NodeJS.Timeout
  private redisRetryTimer?: NodeJS.Timeout
  private drainTimer?: NodeJS.Timeout
  private noticeTimer?: NodeJS.Timeout
  private draining?: Promise<unknown>
  /** Webhook deliveries for events this process raised: a one-shot run tries them before exiting. */
  private readonly ownDeliveries: string[] = []
  private started = false
  private readonly names: ReturnType<typeof channels>

  constructor(private readonly deps: ValidationDeps) {
    this.names = channels(deps.config.redisPrefix)
    this.cache = new KeyCache({
      max: deps.config.cache.maxCapacity,
      ttlSeconds: deps.config.cache.ttlSeconds,
      load: (hash) => this.load(hash),
    })
    this.usage = new UsageRecorder({ sql: deps.sql, redis: () => this.redisClient, prefix: deps.config.redisPrefix, log: deps.log })
    deps.bus.on('*', (event) => this.onEvent(event))
  }

  get longRunning(): boolean {
    return this.started
  }

  private async load(hash: string): Promise<ValidationRecord | undefined> {
    const computed = Buffer.from(hash, 'base64')
    const found = await findKeyByHash(this.deps.sql(), computed)
    return found && timingSafeEqual(found.keyHash, computed) ? found.record : undefined
  }

  /** The key for a hash if it is in memory right now (no I/O), else undefined. */
  peek(hash: string): CachedLookup | undefined {
    return this.cache.peek(hash)
  }

  /** The key for a hash: from memory when cached, else one shared database read. */
  async lookup(hash: string): Promise<CachedLookup> {
    return (await this.cache.lookup(hash)) ?? { record: (await this.load(hash)) ?? null }
  }

  private redis(): Promise<Redis | undefined> {
    return this.deps.redis().then((r) => (this.redisClient = r))
  }

  private lockout(): Promise<Lockout> {
    this.lockoutP ??= this.redis()
      .catch((error: unknown) => {
        this.deps.log.warn(`Redis is unavailable (${(error as Error).message}): failed attempts are counted in this process only`)
        return undefined
      })
      .then(
        (redis) =>
          Lockout.create({
            maxAttempts: this.deps.config.rateLimit.maxAttempts,
            windowSeconds: this.deps.config.rateLimit.windowSeconds,
            keyPrefix: this.deps.config.redisPrefix,
            redis,
            // No Redis configured: counters in PostgreSQL, shared by every process (SPEC §2).
            sql: this.deps.config.redisUrl ? undefined : this.deps.sql(),
            log: this.deps.log,
          }),
      )
    return this.lockoutP
  }

  /** Is `ip` inside a blacklisted network? From the mirror when running, else one query. */
  isBlacklisted(ip: string): boolean | Promise<boolean> {
    if (this.blocklist) {
      if (this.blacklistSize === 0) return false
      let hit = this.blacklistMemo.get(ip)
      if (hit === undefined) {
        const family = ipFamily(ip)
        hit = family ? this.blocklist.check(ip, family) : false
        if (this.blacklistMemo.size >= 100_000) this.blacklistMemo.clear()
        this.blacklistMemo.set(ip, hit)
      }
      return hit
    }
    return findContaining(this.deps.sql(), ip, this.deps.clock.now()).then(Boolean)
  }

  /** Seconds `ip` must wait, or 0. From the mirror when running, else Redis. */
  lockedFor(ip: string): number | Promise<number> {
    if (this.started) {
      const until = this.lockedUntil.get(ip)
      if (until === undefined) return 0
      const left = until - this.deps.clock.now().getTime()
      if (left > 0) return Math.ceil(left / 1000)
      this.lockedUntil.delete(ip)
      return 0
    }
    return this.lockout().then((l) => l.lockedFor(ip))
  }

  /** Count a failed attempt from `ip`; announces the lockout when this one caused it. */
  async fail(ip: string): Promise<FailureCount> {
    const count = await (await this.lockout()).fail(ip)
    if (!count.counted || count.lockedNow) {
      this.lockedUntil.set(ip, this.deps.clock.now().getTime() + count.retryAfterSeconds * 1000)
    }
    if (count.lockedNow) {
      this.deps.bus.emit({ type: 'ip.locked_out', ip, attempts: count.attempts, retryAfterSeconds: count.retryAfterSeconds, at: this.deps.clock.now().toISOString() })
    }
    return count
  }

  /** Become long-running: load mirrors, subscribe to other processes, flush usage every second. */
  async start(): Promise<void> {
    if (this.started) return
    const memory = newDetectionMemory()
    this.usage.onFlushed = (keyIds) => detectAnomalies(this.asContext('momentry:detector'), keyIds, memory).then(() => undefined)
    await this.reloadBlacklist()
    this.refreshTimer = setInterval(() => {
      this.sweepLockouts()
      if (!this.deps.config.redisUrl) void this.refreshLockoutsFromPostgres()
      void this.reloadBlacklist().catch((e: Error) => this.deps.log.warn(`blacklist refresh failed: ${e.message}`))
    }, BLACKLIST_REFRESH_MS)
    this.refreshTimer.unref()
    this.usage.start()
    this.drainTimer = setInterval(() => void this.drainOutbox(), 1000)
    this.drainTimer.unref()
    const notice = () => void notifyRotationDue(this.asContext('momentry:scheduler')).catch((e: Error) => this.deps.log.warn(`rotation notice: ${e.message}`))
    this.noticeTimer = setInterval(notice, 60_000)
    this.noticeTimer.unref()
    notice()
    const redis = await this.redis().catch((error: Error) => {
      this.deps.log.warn(`Redis is unavailable (${error.message}): no cross-process invalidation until it is back (retrying every ${REDIS_RETRY_MS / 1000} s)`)
      return undefined
    })
    if (!this.deps.config.redisUrl) await this.loadLockouts()
    if (redis) await this.listen(redis)
    // Answering from the mirrors starts only once they are loaded.
    this.started = true
    if (!redis && this.deps.config.redisUrl) this.retryRedis()
  }

  /**
   * Redis was unreachable at start: keep trying. Once it answers, failures are counted there
   * again, and the cache starts afresh, since revocations published meanwhile were missed.
   */
  private retryRedis(): void {
    this.redisRetryTimer = setTimeout(() => {
      void (async () => {
        const redis = await this.redis().catch(() => undefined)
        if (!this.started) return
        if (!redis) return this.retryRedis()
        try {
          this.lockoutP = undefined
          this.cache.clear()
          await this.listen(redis)
          await this.reloadBlacklist()
          this.deps.log.info('Redis is reachable: cross-process invalidation and shared lockout are on')
        } catch (error) {
          this.deps.log.warn(`Redis: ${(error as Error).message}; retrying`)
          this.retryRedis()
        }
      })()
    }, REDIS_RETRY_MS)
    this.redisRetryTimer.unref()
  }

  /**
   * Listen to the other processes. After the subscriber reconnects, whatever was published
   * while it was away is lost: the cache starts afresh and the mirrors are reloaded.
   */
  private async listen(redis: Redis): Promise<void> {
    await this.loadLockouts()
    const sub = redis.duplicate()
    sub.on('error', () => {})
    let connectedOnce = false
    sub.on('ready', () => {
      if (connectedOnce) this.resync()
      connectedOnce = true
    })
    await sub.connect()
    this.subscriber = sub
    const { invalidate, blacklist, lockout } = this.names
    await sub.subscribe([invalidate, blacklist, lockout], (message, channel) => this.onMessage(channel, message))
  }

  private resync(): void {
    this.cache.clear()
    this.deps.log.info('Redis subscription restored: key cache cleared, blacklist and lockouts reloaded')
    void this.reloadBlacklist().catch((e: Error) => this.deps.log.warn(`blacklist reload failed: ${e.message}`))
    void this.loadLockouts().catch((e: Error) => this.deps.log.warn(`lockout reload failed: ${e.message}`))
  }

  /** Flush usage and stop listening. Safe to call more than once. */
  async close(): Promise<void> {
    this.started = false
    clearTimeout(this.expiryTimer)
    clearTimeout(this.redisRetryTimer)
    clearInterval(this.refreshTimer)
    clearInterval(this.drainTimer)
    clearInterval(this.noticeTimer)
    await this.usage.stop()
    await this.draining
    if (this.ownDeliveries.length > 0) {
      // The events this run raised, tried once with a short timeout; the outbox keeps the rest.
      const ids = this.ownDeliveries.splice(0)
      await deliverDue(this.outboxDeps(), { ids, timeoutMs: 2000 }).catch((e: Error) => this.deps.log.warn(`webhook delivery: ${e.message}`))
    }
    const sub = this.subscriber
    this.subscriber = undefined
    if (sub) await sub.close().catch(() => sub.destroy())
  }

  private async reloadBlacklist(): Promise<void> {
    const entries = await activeEntries(this.deps.sql(), this.deps.clock.now())
    this.blocklist = buildBlockList(entries.map((e) => parseNetwork(e.network)))
    this.blacklistSize = entries.length
    this.blacklistMemo.clear()
    // The next expiry, if it comes before the periodic refresh would see it (a timer over
    // 2^31 ms would fire at once, so later ones are left to the refresh).
    clearTimeout(this.expiryTimer)
    this.expiryTimer = undefined
    const wait = Math.min(...entries.map((e) => e.expiresAt?.getTime() ?? Infinity)) - this.deps.clock.now().getTime()
    if (wait < BLACKLIST_REFRESH_MS) {
      this.expiryTimer = setTimeout(() => void this.reloadBlacklist().catch(() => {}), Math.max(0, wait) + 10)
      this.expiryTimer.unref()
    }
  }

  /** Forget lockouts that have run out: an attack from many addresses must not grow the map for good. */
  private sweepLockouts(): void {
    const now = this.deps.clock.now().getTime()
    for (const [ip, until] of this.lockedUntil) if (until <= now) this.lockedUntil.delete(ip)
  }

  /** No Redis: lockouts by other processes reach this one by reading them again (every 30 s). */
  private async refreshLockoutsFromPostgres(): Promise<void> {
    try {
      await this.loadLockouts()
      await pruneFailures(this.deps.sql())
    } catch (error) {
      this.deps.log.warn(`lockout refresh failed: ${(error as Error).message}`)
    }
  }

  /** Lockouts set before this process started (Redis keys of the limiter, or PostgreSQL without Redis). */
  private async loadLockouts(): Promise<void> {
    const now = this.deps.clock.now().getTime()
    for (const l of (await listLockedOutIps(this.asContext(this.deps.actor))) ?? []) this.lockedUntil.set(l.ip, now + l.retryAfterSeconds * 1000)
  }

  private onMessage(channel: string, message: string): void {
    try {
      const data: unknown = JSON.parse(message)
      if (channel === this.names.invalidate) this.cache.invalidateKey(invalidateMessage.parse(data).keyId)
      else if (channel === this.names.blacklist) {
        blacklistMessage.parse(data)
        void this.reloadBlacklist().catch((e: Error) => this.deps.log.warn(`blacklist reload failed: ${e.message}`))
      } else if (channel === this.names.lockout) {
        const m = lockoutMessage.parse(data)
        this.lockedUntil.set(m.ip, this.deps.clock.now().getTime() + m.retryAfterSeconds * 1000)
      }
    } catch {
      this.deps.log.warn(`ignored a malformed message on ${channel}`)
    }
  }

  private outboxDeps(): OutboxDeps {
    return { sql: this.deps.sql, clock: this.deps.clock, log: this.deps.log }
  }

  /** Long-running: deliver whatever is due in the outbox (one drain at a time). */
  private drainOutbox(): Promise<unknown> {
    this.draining ??= deliverDue(this.outboxDeps(), { limit: 100 })
      .catch((e: Error) => this.deps.log.warn(`webhook outbox: ${e.message}`))
      .finally(() => (this.draining = undefined))
    return this.draining
  }

  /**
   * Subscriber of the event bus: keep this process and every other one in step first
   * (invalidation is latency-critical), then put the event in the webhook outbox.
   */
  private async onEvent(event: MomentryEvent): Promise<void> {
    try {
      await this.respond(event)
    } finally {
      try {
        this.ownDeliveries.push(...(await enqueueEvent(this.outboxDeps(), event)))
      } catch (error) {
        this.deps.log.warn(`could not queue webhooks for ${event.type}: ${(error as Error).message}`)
      }
    }
  }

  private async respond(event: MomentryEvent): Promise<void> {
    switch (event.type) {
      case 'key.revoked':
      case 'key.rotated':
      case 'key.disabled':
      case 'key.enabled':
        this.cache.invalidateKey(event.keyId)
        return this.publish(this.names.invalidate, { keyId: event.keyId })
      case 'blacklist.changed':
        if (this.started) await this.reloadBlacklist()
        return this.publish(this.names.blacklist, { network: event.network, change: event.change })
      case 'anomaly.detected':
        await this.publish(this.names.alerts, event.alert)
        await this.rememberAnomaly(event.alert)
        return this.autoDisable(event.alert)
      case 'ip.locked_out':
        // Other processes first (they refuse the address from memory), then the audit row.
        await this.publish(this.names.lockout, { ip: event.ip, retryAfterSeconds: event.retryAfterSeconds })
        return appendAudit(this.deps.sql(), {
          keyId: null,
          action: 'ip.lockout',
          actor: this.deps.actor,
          ip: event.ip,
          at: new Date(event.at),
          details: { attempts: event.attempts, retryAfterSeconds: event.retryAfterSeconds },
        })
      default:
        return undefined
    }
  }

  /** A context acting as `actor`, for responses the runtime makes on its own (auto-disable, detection). */
  private asContext(actor: string): CoreContext {
    const d = this.deps
    return { sql: d.sql(), redis: d.redis, bus: d.bus, config: d.config, clock: d.clock, log: d.log, actor, validation: this }
  }

  /** Per-key anomaly state in Redis: the latest detection of each type, for dashboards. */
  private async rememberAnomaly(alert: AnomalyAlert): Promise<void> {
    const redis = this.redisClient
    if (!redis?.isReady) return
    const key = `${this.deps.config.redisPrefix}anomaly:state:${alert.keyId}`
    await redis.multi().hSet(key, alert.type, JSON.stringify(alert)).expire(key, 86_400).exec()
  }

  /** ANOMALY_AUTO_DISABLE: switch the key off on a severe enough anomaly (audited, reversible). */
  private async autoDisable(alert: AnomalyAlert): Promise<void> {
    const mode = this.deps.config.anomaly.autoDisable
    if (mode === 'off' || SEVERITY_RANK[alert.severity as Severity] < SEVERITY_RANK[mode]) return
    try {
      await disableKey(this.asContext('momentry:anomaly'), { id: alert.keyId, reason: `auto-disabled: ${alert.severity} ${alert.type} (${alert.id})` })
      this.deps.log.warn(`disabled ${alert.keyId} after a ${alert.severity} ${alert.type} anomaly (ANOMALY_AUTO_DISABLE=${mode}); \`momentry api-key enable ${alert.keyId}\` reverses it`)
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error // already disabled or revoked: nothing to do
    }
  }

  private async publish(channel: string, payload: object): Promise<void> {
    if (!this.deps.config.redisUrl) return
    try {
      const redis = await this.redis()
      if (redis?.isReady) await redis.publish(channel, JSON.stringify(payload))
    } catch (error) {
      this.deps.log.warn(`could not tell other processes via Redis (${(error as Error).message}); their caches expire within CACHE_TTL_SECONDS`)
    }
  }
}
