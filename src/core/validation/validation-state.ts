import type { BlockList } from 'node:net'
import { timingSafeEqual } from 'node:crypto'

import type { ValidationRecord } from '../api-keys/repo.js'
import { findKeyByHash } from '../api-keys/repo.js'
import type { Network } from '../blacklist/ip.js'
import { buildBlockList, failureKey, ipFamily } from '../blacklist/ip.js'
import { findContaining } from '../blacklist/repo.js'
import type { Clock } from '../clock.js'
import type { Config } from '../config.js'
import type { Sql } from '../db/connect.js'
import type { EventBus } from '../events.js'
import type { Logger } from '../log.js'
import type { Redis } from '../redis.js'
import { UsageRecorder } from '../usage/usage-recorder.js'
import type { CachedLookup } from './key-cache.js'
import { KeyCache } from './key-cache.js'
import type { FailureCount } from './lockout.js'
import { Lockout } from './lockout.js'

export interface ValidationDeps {
  sql: () => Sql
  redis: () => Promise<Redis | undefined>
  /** The Redis client if one is connected already (usage counters go there; they never connect). */
  connectedRedis: () => Redis | undefined
  bus: EventBus
  config: Config
  clock: Clock
  log: Logger
}

/**
 * What `verifyKey` reads between calls, and nothing else: the key cache, failed-attempt
 * counting per source IP, the usage buffer, and in-memory mirrors of the blacklist and of
 * locked-out IPs. It owns no timer and listens to nobody: a long-running process keeps the
 * mirrors fresh with the `mirrors` side effect (validation/mirrors.ts), which loads them and
 * then calls `goLive()`; until then — and always in a one-shot run — every question goes to
 * PostgreSQL or Redis directly.
 */
export class ValidationState {
  readonly cache: KeyCache
  readonly usage: UsageRecorder
  private lockoutP?: Promise<Lockout>
  private countingReady = false
  private blocklist?: BlockList
  private blacklistSize = 0
  /** Blacklist answers per IP, valid until the list is next replaced. */
  private readonly blacklistMemo = new Map<string, boolean>()
  /** Lockouts in force, by failure key (`failureKey`: the IPv4 address, or the IPv6 network). */
  private readonly lockedUntil = new Map<string, number>()
  /** Failure keys of IPv6 addresses seen (IPv4 needs none), valid as long as the config. */
  private readonly failureKeyMemo = new Map<string, string>()
  private live = false
  /** False while a long-running process cannot hear other processes' changes: cached keys are re-read. */
  private trusted = true
  private hearing: boolean | undefined

  constructor(private readonly deps: ValidationDeps) {
    this.cache = new KeyCache({
      max: deps.config.cache.maxCapacity,
      ttlSeconds: deps.config.cache.ttlSeconds,
      clock: deps.clock,
      load: (hash) => this.load(hash),
    })
    this.usage = new UsageRecorder({
      sql: deps.sql,
      redis: deps.connectedRedis,
      prefix: deps.config.redisPrefix,
      log: deps.log,
      flushed: (keyIds) => deps.bus.emit({ type: 'usage.flushed', keyIds, at: deps.clock.now().toISOString() }),
    })
  }

  /** True while the mirrors are loaded and kept fresh: only then is a decision made from memory. */
  get longRunning(): boolean {
    return this.live
  }

  private async load(hash: string): Promise<ValidationRecord | undefined> {
    const computed = Buffer.from(hash, 'base64')
    const found = await findKeyByHash(this.deps.sql(), computed, this.deps.clock.now())
    return found && timingSafeEqual(found.keyHash, computed) ? found.record : undefined
  }

  /** The key for a hash if it is in memory right now and can be trusted (no I/O), else undefined. */
  peek(hash: string): CachedLookup | undefined {
    const hit = this.cache.peek(hash)
    return hit && (this.trusted || !hit.record) ? hit : undefined
  }

  /** The key for a hash: from memory when cached (and trusted), else one shared database read. */
  async lookup(hash: string): Promise<CachedLookup> {
    return (await this.cache.lookup(hash, { fresh: !this.trusted })) ?? { record: (await this.load(hash)) ?? null }
  }

  /**
   * Load failure counting now rather than at the first refusal (a long-running process calls
   * this at start): rate-limiter-flexible's import alone is ~25 ms, which the first revoked
   * or wrong key after a start would otherwise wait for.
   */
  async prepareFailureCounting(): Promise<void> {
    await this.lockout()
  }

  /** True once failure counting is loaded, so that a refusal waits for nothing but the count itself. */
  get failureCountingReady(): boolean {
    return this.countingReady
  }

  private lockout(): Promise<Lockout> {
    if (this.lockoutP) return this.lockoutP
    const loading = this.deps
      .redis()
      .catch((error: unknown) => {
        this.deps.log.warn(`Redis is unavailable (${(error as Error).message}): failed attempts are counted in this process only`)
        return undefined
      })
      .then((redis) =>
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
    this.lockoutP = loading
    // Ready unless counting was reset (Redis came back) while it loaded.
    loading.then(
      () => {
        if (this.lockoutP === loading) this.countingReady = true
      },
      () => {},
    )
    return loading
  }

  /** Is `ip` inside a blacklisted network? From the mirror when live, else one query. */
  isBlacklisted(ip: string): boolean | Promise<boolean> {
    if (this.live && this.blocklist) {
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

  /**
   * What failures from `ip` (normalised) count against: the IPv4 address itself, at no cost;
   * an IPv6 address's network of MOMENTRY_IPV6_LOCKOUT_PREFIX bits, worked out once per address.
   */
  failureKey(ip: string): string {
    if (ip.indexOf(':') === -1) return ip
    let key = this.failureKeyMemo.get(ip)
    if (key === undefined) {
      key = failureKey(ip, this.deps.config.rateLimit.ipv6Prefix)
      if (this.failureKeyMemo.size >= 100_000) this.failureKeyMemo.clear()
      this.failureKeyMemo.set(ip, key)
    }
    return key
  }

  /** Seconds `ip` (normalised) must wait, or 0: its failure key's lockout. From the mirror when live, else the counters. */
  lockedFor(ip: string): number | Promise<number> {
    // While live and nobody is locked out (nearly always), no failure key is worked out at all.
    if (this.live && this.lockedUntil.size === 0) return 0
    const key = this.failureKey(ip)
    if (this.live) {
      const until = this.lockedUntil.get(key)
      if (until === undefined) return 0
      const left = until - this.deps.clock.ms()
      if (left > 0) return Math.ceil(left / 1000)
      this.lockedUntil.delete(key)
      return 0
    }
    return this.lockout().then((l) => l.lockedFor(key))
  }

  /**
   * Count a failed attempt from `ip` (normalised) against its failure key; announces the
   * lockout (`ip.locked_out`, naming the key: an IPv6 lockout names its network) when this
   * one caused it.
   */
  async fail(ip: string): Promise<FailureCount> {
    const key = this.failureKey(ip)
    const count = await (await this.lockout()).fail(key)
    if (!count.counted || count.lockedNow) this.lockOut(key, count.retryAfterSeconds)
    if (count.lockedNow) {
      this.deps.bus.emit({ type: 'ip.locked_out', ip: key, attempts: count.attempts, retryAfterSeconds: count.retryAfterSeconds, at: this.deps.clock.now().toISOString() })
    }
    return count
  }

  // ---- kept fresh by the mirrors side effect ----

  /** Replace the blacklist mirror (the networks in force now). */
  setBlacklist(networks: Network[]): void {
    this.blocklist = buildBlockList(networks)
    this.blacklistSize = networks.length
    this.blacklistMemo.clear()
  }

  /** Refuse a failure key (`failureKey`) from memory for `seconds` from now (a lockout here or in another process). */
  lockOut(key: string, seconds: number): void {
    this.lockedUntil.set(key, this.deps.clock.now().getTime() + seconds * 1000)
  }

  /** Forget a lockout (by failure key) lifted early (`lockout clear`, here or in another process). */
  forgetLockout(key: string): void {
    this.lockedUntil.delete(key)
  }

  /** Forget every lockout in memory (all were lifted; the mirrors then re-read any set since). */
  forgetLockouts(): void {
    this.lockedUntil.clear()
  }

  /** Forget lockouts that have run out: an attack from many addresses must not grow the map for good. */
  sweepLockouts(): void {
    const now = this.deps.clock.now().getTime()
    for (const [ip, until] of this.lockedUntil) if (until <= now) this.lockedUntil.delete(ip)
  }

  /** Count failures afresh on the next one (Redis came back: counting moves there again). */
  resetCounting(): void {
    this.lockoutP = undefined
    this.countingReady = false
  }

  /** Start (or stop) deciding from the mirrors; call only once they are loaded. */
  setLive(live: boolean): void {
    this.live = live
  }

  /**
   * Whether this process hears other processes' changes: undefined when nothing here listens
   * for them (a one-shot run, or the mirrors service not started), true while the LISTEN
   * connection is up and the mirrors are loaded, false while it is down or reloading.
   */
  get listening(): boolean | undefined {
    return this.hearing
  }

  /** Set by the mirrors service as its LISTEN connection comes and goes (undefined when it stops). */
  setListening(listening: boolean | undefined): void {
    this.hearing = listening
  }

  /** Trust the cache's found keys (true), or re-read each from PostgreSQL (while changes cannot be heard). */
  setTrusted(trusted: boolean): void {
    this.trusted = trusted
  }
}
