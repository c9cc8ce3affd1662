import type { Clock } from '../../src/core/clock.js'
import { loadConfig } from '../../src/core/config.js'
import type { CoreContext } from '../../src/core/context.js'
import { createContext } from '../../src/core/context.js'
import type { Sql } from '../../src/core/db/connect.js'
import { connectPostgres } from '../../src/core/db/connect.js'
import { createEventBus } from '../../src/core/events.js'
import { silentLogger } from '../../src/core/log.js'

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
  await sql`truncate api_keys, api_key_audit_log, api_key_anomalies, gitea_tokens, n8n_api_keys, ip_blacklist, key_usage_minute restart identity cascade`
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
