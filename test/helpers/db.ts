import { execFileSync } from 'node:child_process'

import { AuditKeyring } from '../../src/core/audit/audit-keys.js'
import type { AuditEvent } from '../../src/core/audit/list-audit.js'
import { openAuditRow } from '../../src/core/audit/list-audit.js'
import { findAuditRows } from '../../src/core/audit/repo.js'
import type { Clock } from '../../src/core/clock.js'
import { loadConfig } from '../../src/core/config.js'
import type { CoreContext } from '../../src/core/context.js'
import type { Sql } from '../../src/core/db/connect.js'
import { connectPostgres } from '../../src/core/db/connect.js'
import type { EffectName } from '../../src/core/effects.js'
import { EFFECTS, SERVER_EFFECTS } from '../../src/core/effects.js'
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

/** The test run's whole database as SQL text (`pg_dump --inserts`): what a backup of it would hold. */
export function dumpTestDatabase(options: { dataOnly?: boolean } = {}): string {
  return execFileSync('pg_dump', [...(options.dataOnly ? ['--data-only'] : []), '--inserts', testDatabaseUrl()], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] })
}

export function openTestSql(options: { onQuery?: (q: string) => void } = {}): Sql {
  return connectPostgres(testDatabaseUrl(), options)
}

/** Every table a test may fill, children before the tables they reference. */
const TABLES = ['webhook_deliveries', 'webhooks', 'api_key_anomalies', 'api_key_audit_log', 'audit_checkpoints', 'key_usage_day', 'key_usage_minute', 'validation_failure_minute', 'ip_blacklist', 'ip_failures', 'gitea_tokens', 'n8n_api_keys', 'api_keys']

/**
 * Empty every table between tests (schema_migrations stays), in one round trip. DELETE, not
 * TRUNCATE: a few rows delete in milliseconds, while a TRUNCATE of ten tables takes 100–300 ms
 * here (catalog locks and new files) and the suite does it hundreds of times. Ids are not
 * restarted; no test depends on their values.
 */
export async function truncateAll(sql: Sql): Promise<void> {
  // The audit log refuses DELETE (its triggers); tests, as the superuser, start a new chain
  // with triggers off — the very thing a checkpoint kept elsewhere is there to catch.
  await sql.begin((tx) =>
    tx.unsafe(`set local session_replication_role = replica; ${TABLES.map((t) => `delete from ${t};`).join(' ')} update audit_chain_head set seq = 0;`),
  )
}

/** Audit rows as the product shows them (details decrypted with the run's MOMENTRY_AUDIT_KEY), oldest first. */
export async function auditRows(sql: Sql, where: { action?: string; keyId?: string } = {}): Promise<AuditEvent[]> {
  const keyring = new AuditKeyring({ envKeys: process.env.MOMENTRY_AUDIT_KEY, secrets: undefined as never, log: silentLogger })
  const rows = await findAuditRows(sql, { action: where.action, keyId: where.keyId, limit: 100_000 })
  return Promise.all(rows.map((r) => openAuditRow(keyring, r, 'throw')))
}

/** The reactions a test core has by default: a one-shot command's, plus the anomaly responses. */
export const TEST_REACTIONS: readonly EffectName[] = SERVER_EFFECTS.filter((e) => e !== 'detection' && EFFECTS[e].kind === 'reaction')

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
