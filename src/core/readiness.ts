import type { CoreContext } from './context.js'
import { classifyPostgresError } from './db/connect.js'

export interface Readiness {
  /** True when every check is `ok`. */
  ready: boolean
  /** One entry per dependency (`postgres`, and `redis` when configured): `ok`, or why not. */
  checks: Record<string, string>
}

async function checkPostgres(ctx: CoreContext): Promise<string> {
  try {
    await ctx.sql`select 1`
    return 'ok'
  } catch (error) {
    // Without the URL on purpose: readiness is asked by anyone who can reach the server, and
    // the database's host and user are not theirs to learn.
    return classifyPostgresError(error)?.reason ?? (error as Error).message
  }
}

async function checkRedis(ctx: CoreContext): Promise<string> {
  const redis = await ctx.redis().catch(() => undefined)
  return redis?.isReady ? 'ok' : 'unreachable'
}

/**
 * Whether this process can serve requests now: PostgreSQL answers a query, and Redis, when
 * configured, is connected. Never throws; a failing dependency is reported in its check.
 * Without REDIS_URL there is no Redis check, since momentry then runs without it.
 */
export async function checkReadiness(ctx: CoreContext): Promise<Readiness> {
  const [postgres, redis] = await Promise.all([checkPostgres(ctx), ctx.config.redisUrl ? checkRedis(ctx) : undefined])
  const checks: Record<string, string> = redis === undefined ? { postgres } : { postgres, redis }
  return { ready: Object.values(checks).every((c) => c === 'ok'), checks }
}
