import type { Clock } from '../core/clock.js'
import { systemClock } from '../core/clock.js'
import type { Config } from '../core/config.js'
import { loadConfig } from '../core/config.js'
import type { CoreContext } from '../core/context.js'
import { defaultActor } from '../core/context.js'
import type { Sql } from '../core/db/connect.js'
import { closePostgres, connectPostgres } from '../core/db/connect.js'
import { ConfigError } from '../core/errors.js'
import { createEventBus } from '../core/events.js'
import type { Logger } from '../core/log.js'
import { createStderrLogger } from '../core/log.js'
import type { Redis } from '../core/redis.js'
import { closeRedis, connectRedis } from '../core/redis.js'
import { ValidationRuntime } from '../core/validation/runtime.js'

/** A CLI run's core context plus the means to close what it opened. */
export interface CliSession {
  ctx: CoreContext
  config: Config
  close(): Promise<void>
}

/**
 * Build the context for one CLI run. Nothing connects here: PostgreSQL on the first
 * query, Redis on the first `ctx.redis()`. `close()` drains events and ends both.
 */
export function openSession(env: NodeJS.ProcessEnv = process.env, options: { clock?: Clock; longRunning?: boolean; log?: Logger } = {}): CliSession {
  const clock = options.clock ?? systemClock
  const config = loadConfig(env)
  const log = options.log ?? createStderrLogger({ debug: Boolean(env.MOMENTRY_DEBUG) })
  const bus = createEventBus(log)
  let sql: Sql | undefined
  let redis: Promise<Redis | undefined> | undefined

  const ctx: Omit<CoreContext, 'validation'> = {
    get sql(): Sql {
      if (!config.databaseUrl) {
        throw new ConfigError(
          'DATABASE_URL is not set',
          'Set it to your PostgreSQL, e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/momentry, then run `momentry db migrate`',
        )
      }
      sql ??= connectPostgres(config.databaseUrl)
      return sql
    },
    redis() {
      if (!config.redisUrl) return Promise.resolve(undefined)
      // A one-shot run keeps its first answer; a server forgets a failed connection so that
      // the next use tries again (Redis may come up after the server did).
      redis ??= connectRedis(config.redisUrl, log, { reconnect: options.longRunning }).catch((error: unknown) => {
        if (options.longRunning) redis = undefined
        throw error
      })
      return redis
    },
    bus,
    config,
    clock,
    log,
    actor: env.MOMENTRY_ACTOR || defaultActor(),
  }
  // Not `...ctx`: spreading would call the `sql` getter, connecting (or failing) eagerly.
  const validation = new ValidationRuntime({ sql: () => ctx.sql, redis: () => ctx.redis(), bus, config, clock, log, actor: ctx.actor })

  return {
    ctx: Object.assign(ctx, { validation }),
    config,
    async close() {
      await bus.drain()
      await validation.close()
      await bus.drain()
      const client = await redis?.catch(() => undefined)
      await Promise.all([sql && closePostgres(sql), client && closeRedis(client)])
    },
  }
}
