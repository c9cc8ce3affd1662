import type { CoreContext } from '../context.js'
import { EMBEDDED_DATABASE } from '../embedded/paths.js'
import { databaseName } from './connect.js'
import type { MigrateResult } from './migrate.js'
import { ensureDatabase, migrate } from './migrate.js'
import { sealPlainWebhookSecrets } from '../webhooks/webhook-secret.js'

/**
 * `db migrate`: create the database if it is missing, apply pending migrations, then seal the
 * webhook secrets still stored in the clear (SQL cannot: the audit key is never in the
 * database; sql/0013).
 */
export async function migrateDatabase(ctx: CoreContext): Promise<MigrateResult & { database: string; sealedWebhookSecrets: number }> {
  const sql = ctx.sql
  const url = ctx.config.databaseUrl
  // Embedded: the server and its database are made on first use, migrations applied with them.
  const createdDatabase = url ? await ensureDatabase(url) : false
  const result = await migrate(sql)
  const sealedWebhookSecrets = await sealPlainWebhookSecrets(ctx)
  return { database: url ? databaseName(url) : `${EMBEDDED_DATABASE} (embedded, ${ctx.config.dataDir})`, createdDatabase, ...result, sealedWebhookSecrets }
}
