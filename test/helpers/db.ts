import type { Clock } from '../../src/core/clock.js'
import { loadConfig } from '../../src/core/config.js'
import type { CoreContext } from '../../src/core/context.js'
import { createContext } from '../../src/core/context.js'
import type { Sql } from '../../src/core/db/connect.js'
import { connectPostgres } from '../../src/core/db/connect.js'
import { createEventBus } from '../../src/core/events.js'
import { silentLogger } from '../../src/core/log.js'
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

/** Empty every table between tests (schema_migrations stays). */
export async function truncateAll(sql: Sql): Promise<void> {
  await sql`truncate api_keys, api_key_audit_log, api_key_anomalies, gitea_tokens, n8n_api_keys, ip_blacklist, key_usage_minute, webhooks, webhook_deliveries, ip_failures restart identity cascade`
}

export function testContext(sql: Sql, options: { clock?: Clock; actor?: string } = {}): CoreContext {
  return createContext({
    config: loadConfig(process.env),
    sql,
    bus: createEventBus(silentLogger),
    clock: options.clock,
    log: silentLogger,
    actor: options.actor ?? 'test:runner',
  })
}

/**
 * A context wired to the run's real Redis the way `serve` is (reconnecting client), with
 * optional environment overrides (e.g. anomaly thresholds). `close()` flushes and disconnects.
 */
export function redisTestContext(
  sql: Sql,
  options: { clock?: Clock; env?: Record<string, string>; actor?: string } = {},
): { ctx: CoreContext; close(): Promise<void> } {
  const config = loadConfig({ ...process.env, ...options.env })
  let redis: Promise<Redis> | undefined
  const ctx = createContext({
    config,
    sql,
    redis: async () => (config.redisUrl ? (redis ??= connectRedis(config.redisUrl, silentLogger, { reconnect: true })) : undefined),
    bus: createEventBus(silentLogger),
    clock: options.clock,
    log: silentLogger,
    actor: options.actor ?? 'test:runner',
  })
  return {
    ctx,
    async close() {
      await ctx.bus.drain()
      await ctx.validation.close()
      await ctx.bus.drain()
      const client = await redis?.catch(() => undefined)
      if (client) await closeRedis(client)
    },
  }
}
