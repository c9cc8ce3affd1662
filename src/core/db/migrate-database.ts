import type { CoreContext } from '../context.js'
import { databaseName } from './connect.js'
import type { MigrateResult } from './migrate.js'
import { ensureDatabase, migrate } from './migrate.js'

/** `db migrate`: create the database if it is missing, then apply pending migrations. */
export async function migrateDatabase(ctx: CoreContext): Promise<MigrateResult & { database: string }> {
  const sql = ctx.sql // throws a ConfigError naming DATABASE_URL when unset
  const url = ctx.config.databaseUrl!
  const createdDatabase = await ensureDatabase(url)
  const result = await migrate(sql)
  return { database: databaseName(url), createdDatabase, ...result }
}
