import type { RateLimiterAbstract, RateLimiterMemory } from 'rate-limiter-flexible'

import type { Logger } from '../log.js'
import type { Redis } from '../redis.js'

export interface LockoutOptions {
  maxAttempts: number
  windowSeconds: number
  keyPrefix: string
  /** Shared counters; without it (no REDIS_URL) counting is per process, in memory. */
  redis?: Redis
  log: Logger
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
 * atomically in Redis after the outcome is known; the failure that reaches
 * `maxAttempts` locks the IP for a full window from then. So however many processes
 * attack at once, exactly `maxAttempts` failures get their real answer. If Redis goes
 * away, counting continues in this process's memory (said once in the log).
 */
export class Lockout {
  private warned = false

  private constructor(
    private readonly options: LockoutOptions,
    private readonly limiter: RateLimiterAbstract,
    private readonly isRejection: (e: unknown) => e is { msBeforeNext: number; consumedPoints: number },
  ) {}

  /** rate-limiter-flexible is loaded here, on first need, not when a command starts. */
  static async create(options: LockoutOptions): Promise<Lockout> {
    const { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } = await import('rate-limiter-flexible')
    const base = { points: options.maxAttempts, duration: options.windowSeconds, keyPrefix: `${options.keyPrefix}lockout` }
    const memory: RateLimiterMemory = new RateLimiterMemory(base)
    const limiter = options.redis
      ? new RateLimiterRedis({ ...base, storeClient: options.redis, useRedisPackage: true, rejectIfRedisNotReady: true, insuranceLimiter: memory })
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
