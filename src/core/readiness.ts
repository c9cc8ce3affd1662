import type { CoreContext } from './context.js'
import { classifyPostgresError } from './db/connect.js'

export interface Readiness {
  /** True when every check is `ok`. */
  ready: boolean
  /**
   * One entry per dependency (`postgres`; `redis` when configured; `listen` while this process
   * listens for other processes' changes): `ok`, or a word saying what is wrong.
   */
  checks: Record<string, string>
}

async function checkPostgres(ctx: CoreContext): Promise<string> {
  try {
    await ctx.sql`select 1`
    return 'ok'
  } catch (error) {
    // A word, not the reason: readiness is asked by anyone who can reach the server, and the
    // database's host, user or socket path are not theirs to learn (`momentry doctor` says why).
    ctx.log.debug(`readiness: PostgreSQL failed (${(error as Error).message})`)
    return classifyPostgresError(error)?.code === 'CONNECTION_ERROR' ? 'unreachable' : 'failing'
  }
}

async function checkRedis(ctx: CoreContext): Promise<string> {
  const redis = await ctx.redis().catch(() => undefined)
  return redis?.isReady ? 'ok' : 'unreachable'
}

/**
 * Whether this process can serve requests now: PostgreSQL answers a query, Redis, when
 * configured, is connected, and — in a long-running process that keeps its cache in step with
 * the others (the mirrors service) — its LISTEN connection is up and the mirrors are loaded;
 * while it is not, a revocation made elsewhere is only seen by re-reading every key. Never
 * throws; a failing dependency is reported in its check. Without REDIS_URL there is no Redis
 * check, since momentry then runs without it.
 */
export async function checkReadiness(ctx: CoreContext): Promise<Readiness> {
  const [postgres, redis] = await Promise.all([checkPostgres(ctx), ctx.config.redisUrl ? checkRedis(ctx) : undefined])
  const checks: Record<string, string> = { postgres }
  if (redis !== undefined) checks.redis = redis
  const listening = ctx.validation.listening
  if (listening !== undefined) checks.listen = listening ? 'ok' : 'down'
  return { ready: Object.values(checks).every((c) => c === 'ok'), checks }
}
