import type { CoreContext } from '../context.js'
import type { Redis } from '../redis.js'
import { lockedOutAddresses } from './failure-repo.js'

export interface LockedOutIp {
  ip: string
  retryAfterSeconds: number
}

/**
 * IPs locked out right now, read from the lockout counters: in Redis, or in PostgreSQL when
 * no Redis is configured. Configured but unreachable: returns undefined (not known now).
 * `redis` overrides the context's connection (the dashboard keeps its own, reconnecting one).
 */
export async function listLockedOutIps(ctx: Pick<CoreContext, 'redis' | 'config' | 'sql'>, redis?: Redis): Promise<LockedOutIp[] | undefined> {
  if (!ctx.config.redisUrl) return lockedOutAddresses(ctx.sql, ctx.config.rateLimit.maxAttempts)
  const client = redis ?? (await ctx.redis().catch(() => undefined))
  if (!client?.isReady) return undefined
  const prefix = `${ctx.config.redisPrefix}lockout:`
  const out: LockedOutIp[] = []
  for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
    for (const key of keys) {
      const [count, ttl] = await Promise.all([client.get(key), client.pTTL(key)])
      if (Number(count) >= ctx.config.rateLimit.maxAttempts && ttl > 0) out.push({ ip: key.slice(prefix.length), retryAfterSeconds: Math.ceil(ttl / 1000) })
    }
  }
  return out.sort((a, b) => a.ip.localeCompare(b.ip))
}
