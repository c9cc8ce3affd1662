import type { CoreContext } from '../context.js'
import { EMBEDDED_DATABASE } from '../embedded/paths.js'
import { databaseName } from './connect.js'
import type { MigrateResult } from './migrate.js'
import { ensureDatabase, migrate } from './migrate.js'

/** `db migrate`: create the database if it is missing, then apply pending migrations. */
export async function migrateDatabase(ctx: CoreContext): Promise<MigrateResult & { database: string }> {
  const sql = ctx.sql
  const url = ctx.config.databaseUrl
  // Embedded: the server and its database are made on first use, migrations applied with them.
  if (!url) return { database: `${EMBEDDED_DATABASE} (embedded, ${ctx.config.dataDir})`, createdDatabase: false, ...(await migrate(sql)) }
  const createdDatabase = await ensureDatabase(url)
  const result = await migrate(sql)
  return { database: databaseName(url), createdDatabase, ...result }
}
