import type { Clock } from '../../src/core/clock.js'
import { loadConfig } from '../../src/core/config.js'
import type { CoreContext } from '../../src/core/context.js'
import type { Sql } from '../../src/core/db/connect.js'
import { connectPostgres } from '../../src/core/db/connect.js'
import type { EffectName } from '../../src/core/effects.js'
import { SERVER_EFFECTS } from '../../src/core/effects.js'
import type { Logger } from '../../src/core/log.js'
import { silentLogger } from '../../src/core/log.js'
import type { Core } from '../../src/core/open-core.js'
import { openCore } from '../../src/core/open-core.js'
import type { Redis } from '../../src/core/redis.js'
import { closeRedis, connectRedis } from '../../src/core/redis.js'

/** The test run's database (created by global-setup). */
export function testDatabaseUrl(): string {
  const url = process.env.DATABASE_URL
  if (!url?.includes('momentry_test_')) throw new Error('global-setup did not run: DATABASE_URL is not a test database')
  return url
}

export function openTestSql(options: { onQuery?: (q: string) => void } = {}): Sql {
  return connectPostgres(testDatabaseUrl(), options)
}

/** Every table a test may fill, children before the tables they reference. */
const TABLES = ['webhook_deliveries', 'webhooks', 'api_key_anomalies', 'api_key_audit_log', 'key_usage_minute', 'ip_blacklist', 'ip_failures', 'gitea_tokens', 'n8n_api_keys', 'api_keys']

/**
 * Empty every table between tests (schema_migrations stays), in one round trip. DELETE, not
 * TRUNCATE: a few rows delete in milliseconds, while a TRUNCATE of ten tables takes 100–300 ms
 * here (catalog locks and new files) and the suite does it hundreds of times. Ids are not
 * restarted; no test depends on their values.
 */
export async function truncateAll(sql: Sql): Promise<void> {
  await sql.unsafe(TABLES.map((t) => `delete from ${t};`).join(' '))
}

/** The reactions a test core has by default: a one-shot command's, plus the anomaly responses. */
export const TEST_REACTIONS: readonly EffectName[] = SERVER_EFFECTS.filter((e) => e !== 'detection' && e !== 'mirrors' && e !== 'usage-flush' && e !== 'outbox-drain' && e !== 'rotation-notices')

export interface TestCore {
  ctx: CoreContext
  /** Start side effects, by default everything `serve` runs (mirrors, usage flush, detection, …). */
  start(effects?: readonly EffectName[]): Promise<void>
  close(): Promise<void>
}

/**
 * A core on the test run's database, built the way every process builds it (`openCore`),
 * with the pool the test owns (closed by the test) and, with `redis`, the run's real Redis
 * on a reconnecting client as `serve` has. `env` overrides the configuration (thresholds…).
 */
export function testCore(
  sql: Sql,
  options: { clock?: Clock; env?: Record<string, string>; actor?: string; redis?: boolean; effects?: readonly EffectName[]; log?: Logger } = {},
): TestCore {
  const config = loadConfig({ ...process.env, ...options.env })
  let redis: Promise<Redis> | undefined
  const core: Core = openCore({
    config,
    sql,
    // Without `redis`, ctx.redis() answers undefined even though REDIS_URL is set (the run's Redis is not used).
    redis: async () => (options.redis && config.redisUrl ? (redis ??= connectRedis(config.redisUrl, silentLogger, { reconnect: true })) : undefined),
    clock: options.clock,
    log: options.log ?? silentLogger,
    actor: options.actor ?? 'test:runner',
    longRunning: true,
    effects: options.effects ?? TEST_REACTIONS,
  })
  return {
    ctx: core.ctx,
    start: (effects = SERVER_EFFECTS) => core.start(effects),
    async close() {
      await core.close()
      const client = await redis?.catch(() => undefined)
      if (client) await closeRedis(client)
    },
  }
}

/** A context without Redis on the test database (its side effects are the default reactions). */
export function testContext(sql: Sql, options: { clock?: Clock; actor?: string; env?: Record<string, string> } = {}): CoreContext {
  return testCore(sql, options).ctx
}

/**
 * A core wired to the run's real Redis the way `serve` is (reconnecting client), with
 * optional environment overrides (e.g. anomaly thresholds). `close()` flushes and disconnects.
 */
export function redisTestContext(sql: Sql, options: { clock?: Clock; env?: Record<string, string>; actor?: string } = {}): TestCore {
  return testCore(sql, { ...options, redis: true })
}
