import { appendAudit } from '../audit/repo.js'
import { failureKey, ipFamily, normaliseIp } from '../blacklist/ip.js'
import type { CoreContext } from '../context.js'
import type { TransactionSql } from '../db/connect.js'
import { ConnectionError, NotFoundError, UsageError } from '../errors.js'
import { printable } from '../printable.js'
import type { Redis } from '../redis.js'
import { takeFailures } from './failure-repo.js'
import type { LockedOutIp } from './locked-out.js'
import { listLockedOutIps } from './locked-out.js'

export interface LockoutList {
  items: LockedOutIp[]
}

export interface ClearedLockout {
  ip: string
  /** Whether the address was locked out (else it only had failures counted against it). */
  wasLockedOut: boolean
  /** Failures counted in its window when cleared. */
  attempts: number
  /** What was left of the lockout, in seconds (0 when it was not locked out). */
  retryAfterSeconds: number
}

export interface ClearLockoutsResult {
  cleared: ClearedLockout[]
}

export type ClearLockoutsInput = { ip: string; all?: false } | { all: true; ip?: undefined }

const REDIS_DOWN = () =>
  new ConnectionError('Redis is unreachable, so its lockout counters cannot be read or cleared', 'Check REDIS_URL and that Redis is running, then run `momentry doctor`')

/** The configured Redis, ready, or a ConnectionError (lockouts live there while REDIS_URL is set). */
async function readyRedis(ctx: CoreContext): Promise<Redis> {
  const client = await ctx.redis().catch(() => undefined)
  if (!client?.isReady) throw REDIS_DOWN()
  return client
}

/**
 * The IPs locked out now, with the time each has left (`lockout list`; `api-key stats`
 * counts the same). A configured Redis that is unreachable is a ConnectionError here: the
 * list is the point of the command.
 */
export async function listLockouts(ctx: CoreContext): Promise<LockoutList> {
  const items = await listLockedOutIps(ctx)
  if (!items) throw REDIS_DOWN()
  return { items }
}

/**
 * The counter an address is locked out under (IPv4-mapped IPv6 as IPv4; IPv6 as its network of
 * MOMENTRY_IPV6_LOCKOUT_PREFIX bits, so any address inside it names it); the network as
 * `lockout list` shows it (`2001:db8:1:2::/64`) is taken as well.
 */
function lockoutAddress(ctx: CoreContext, input: string): string {
  const prefix = ctx.config.rateLimit.ipv6Prefix
  const [address = '', bits, extra] = input.trim().split('/')
  const ip = normaliseIp(address)
  const family = ipFamily(ip)
  if (!family || extra !== undefined || (bits !== undefined && (family !== 'ipv6' || bits !== String(prefix)))) {
    throw new UsageError(
      `"${printable(input)}" is not an IP address${bits === undefined ? '' : ` or an IPv6 network of ${prefix} bits (MOMENTRY_IPV6_LOCKOUT_PREFIX)`}`,
      'Give an IPv4 or IPv6 address such as 203.0.113.7, or --all',
    )
  }
  return failureKey(ip, prefix)
}

/**
 * Forget one address's counter: from Redis (its limiter key, read and deleted at once), or
 * from `ip_failures` inside `tx`. Undefined when nothing was counted against it.
 */
async function forgetOne(ctx: CoreContext, tx: TransactionSql, redis: Redis | undefined, ip: string): Promise<ClearedLockout | undefined> {
  const max = ctx.config.rateLimit.maxAttempts
  if (redis) {
    const key = `${ctx.config.redisPrefix}lockout:${ip}`
    const [count, ttl, deleted] = (await redis.multi().get(key).pTTL(key).del(key).exec()) as unknown as [string | null, number, number]
    if (!deleted || count === null) return undefined
    // The limiter marks a lockout by setting the count one past the allowance (its `block`),
    // so a locked-out count holds one more than the failures that were counted.
    const locked = Number(count) > max && ttl > 0
    const attempts = locked ? Number(count) - 1 : Number(count)
    return { ip, wasLockedOut: locked, attempts, retryAfterSeconds: locked ? Math.ceil(ttl / 1000) : 0 }
  }
  const row = await takeFailures(tx, ip)
  if (!row || row.msLeft <= 0) return undefined
  const locked = row.attempts >= max
  return { ip, wasLockedOut: locked, attempts: row.attempts, retryAfterSeconds: locked ? Math.max(1, Math.ceil(row.msLeft / 1000)) : 0 }
}

/**
 * Lift lockouts early: one address (its failure count starts again at zero) or every address
 * locked out now (`all`). Each lifted address is audited (`ip.lockout_cleared`) and
 * announced (`ip.lockout_cleared`), which the broadcast side effect sends to every running
 * process over NOTIFY, so servers stop refusing the address from memory at once. An address
 * with nothing counted against it is a NotFoundError.
 */
export async function clearLockouts(ctx: CoreContext, input: ClearLockoutsInput): Promise<ClearLockoutsResult> {
  const redis = ctx.config.redisUrl ? await readyRedis(ctx) : undefined
  const targets = input.all ? (await listLockouts(ctx)).items.map((l) => l.ip) : [lockoutAddress(ctx, input.ip)]
  const now = ctx.clock.now()
  const cleared = await ctx.sql.begin(async (tx) => {
    const out: ClearedLockout[] = []
    for (const ip of targets) {
      const c = await forgetOne(ctx, tx, redis, ip)
      if (!c) continue
      out.push(c)
      await appendAudit(ctx, tx, {
        keyId: null,
        action: 'ip.lockout_cleared',
        actor: ctx.actor,
        ip,
        at: now,
        details: { wasLockedOut: c.wasLockedOut, attempts: c.attempts, retryAfterSeconds: c.retryAfterSeconds, all: Boolean(input.all) },
      })
    }
    return out
  })
  if (!input.all && cleared.length === 0) {
    throw new NotFoundError(`${targets[0]} is not locked out (no failed attempts are counted against it)`, 'Run `momentry lockout list` to see the locked-out addresses')
  }
  if (input.all || cleared.length > 0) ctx.bus.emit({ type: 'ip.lockout_cleared', ips: cleared.map((c) => c.ip), all: Boolean(input.all), at: now.toISOString() })
  return { cleared }
}
