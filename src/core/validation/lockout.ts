import type { RateLimiterMemory } from 'rate-limiter-flexible'

import type { Sql } from '../db/connect.js'
import type { Logger } from '../log.js'
import type { Redis } from '../redis.js'
import { countFailure, currentFailures, extendWindow, forgetFailures } from './failure-repo.js'

export interface LockoutOptions {
  maxAttempts: number
  windowSeconds: number
  keyPrefix: string
  /** Shared counters in Redis (servers mode). */
  redis?: Redis
  /** Without Redis: shared counters in PostgreSQL (no-Redis mode); with neither, this process's memory. */
  sql?: Sql
  log: Logger
}

/** The part of a rate-limiter-flexible limiter that lockout uses; the PostgreSQL store has it too. */
interface FailureLimiter {
  get(ip: string): Promise<{ consumedPoints: number; msBeforeNext: number } | null>
  /** Count one failure; rejects with a rejection (see `isRejection`) when already over. */
  consume(ip: string, points: number): Promise<{ consumedPoints: number; msBeforeNext: number }>
  block(ip: string, seconds: number): Promise<unknown>
  delete(ip: string): Promise<unknown>
}

/** Over the allowance: what rate-limiter-flexible rejects with, and so does the PostgreSQL store. */
interface Rejection {
  msBeforeNext: number
  consumedPoints: number
}

/** Lockout counters in PostgreSQL (`ip_failures`), with the limiter's semantics. */
class PostgresLimiter implements FailureLimiter {
  constructor(
    private readonly sql: Sql,
    private readonly points: number,
    private readonly windowSeconds: number,
    private readonly reject: (r: Rejection) => unknown,
  ) {}

  async get(ip: string) {
    const w = await currentFailures(this.sql, ip)
    return w ? { consumedPoints: w.attempts, msBeforeNext: w.msLeft } : null
  }

  async consume(ip: string) {
    const w = await countFailure(this.sql, ip, this.windowSeconds)
    if (w.attempts > this.points) throw this.reject({ consumedPoints: w.attempts, msBeforeNext: w.msLeft })
    return { consumedPoints: w.attempts, msBeforeNext: w.msLeft }
  }

  block(ip: string, seconds: number) {
    return extendWindow(this.sql, ip, seconds)
  }

  delete(ip: string) {
    return forgetFailures(this.sql, ip)
  }
}

export interface FailureCount {
  /** False when the IP was already over its allowance: answer RATE_LIMITED instead. */
  counted: boolean
  /** True for the failure that used up the allowance (audit and announce it once). */
  lockedNow: boolean
  retryAfterSeconds: number
  attempts: number
}

/**
 * Failed-validation counting per source IP (rate-limiter-flexible). A failure is counted
 * atomically in Redis (or, without Redis, in PostgreSQL) after the outcome is known; the
 * failure that reaches `maxAttempts` locks the IP for a full window from then. So however
 * many processes attack at once, exactly `maxAttempts` failures get their real answer. If
 * Redis goes away, counting continues in this process's memory (said once in the log).
 */
export class Lockout {
  private warned = false

  private constructor(
    private readonly options: LockoutOptions,
    private readonly limiter: FailureLimiter,
    private readonly isRejection: (e: unknown) => e is Rejection,
  ) {}

  /** rate-limiter-flexible is loaded here, on first need, not when a command starts. */
  static async create(options: LockoutOptions): Promise<Lockout> {
    const { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } = await import('rate-limiter-flexible')
    const base = { points: options.maxAttempts, duration: options.windowSeconds, keyPrefix: `${options.keyPrefix}lockout` }
    const memory: RateLimiterMemory = new RateLimiterMemory(base)
    const reject = (r: Rejection) => new RateLimiterRes(0, r.msBeforeNext, r.consumedPoints)
    const limiter: FailureLimiter = options.redis
      ? new RateLimiterRedis({ ...base, storeClient: options.redis, useRedisPackage: true, rejectIfRedisNotReady: true, insuranceLimiter: memory })
      : options.sql
        ? new PostgresLimiter(options.sql, options.maxAttempts, options.windowSeconds, reject)
        : memory
    return new Lockout(options, limiter, (e): e is InstanceType<typeof RateLimiterRes> => e instanceof RateLimiterRes)
  }

  private noteFallback(): void {
    if (this.options.redis && !this.options.redis.isReady && !this.warned) {
      this.warned = true
      this.options.log.warn("Redis is unavailable: failed-attempt counting falls back to this process's memory until it returns")
    }
    if (this.options.redis?.isReady) this.warned = false
  }

  /** Seconds until the IP may try again, or 0 when it is not locked out. */
  async lockedFor(ip: string): Promise<number> {
    this.noteFallback()
    const res = await this.limiter.get(ip)
    if (!res || res.consumedPoints < this.options.maxAttempts) return 0
    return Math.max(1, Math.ceil(res.msBeforeNext / 1000))
  }

  /** Count one failed attempt from `ip`. */
  async fail(ip: string): Promise<FailureCount> {
    this.noteFallback()
    try {
      const res = await this.limiter.consume(ip, 1)
      const lockedNow = res.consumedPoints === this.options.maxAttempts
      if (lockedNow) await this.limiter.block(ip, this.options.windowSeconds)
      const retryAfterSeconds = lockedNow ? this.options.windowSeconds : 0
      return { counted: true, lockedNow, retryAfterSeconds, attempts: res.consumedPoints }
    } catch (error) {
      if (!this.isRejection(error)) throw error
      return { counted: false, lockedNow: false, retryAfterSeconds: Math.max(1, Math.ceil(error.msBeforeNext / 1000)), attempts: error.consumedPoints }
    }
  }

  /** Lift a lockout early (operators; tests). */
  async clear(ip: string): Promise<void> {
    await this.limiter.delete(ip)
  }
}
