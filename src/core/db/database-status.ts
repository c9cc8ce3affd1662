import type { CoreContext } from '../context.js'
import { redactUrl } from '../config.js'
import type { EmbeddedStatus } from '../embedded/embedded-server.js'
import { embeddedStatus, ensureEmbeddedServer, stopEmbeddedServer } from '../embedded/embedded-server.js'
import { UsageError } from '../errors.js'
import type { MigrationState } from './migrate.js'
import { migrationStatus } from './migrate.js'

export interface DatabaseStatus {
  /** `embedded`: momentry's own PostgreSQL in MOMENTRY_DATA_DIR (no DATABASE_URL); `server`: DATABASE_URL. */
  mode: 'embedded' | 'server'
  /** DATABASE_URL without its password (servers mode). */
  url: string | null
  embedded: EmbeddedStatus | null
  /** Every migration's state; null when the embedded server is stopped (status starts nothing). */
  migrations: MigrationState[] | null
  /** All applied; null when unknown. */
  current: boolean | null
}

/** Which database momentry uses, and how its schema stands. The embedded server is not started for this. */
export async function databaseStatus(ctx: CoreContext): Promise<DatabaseStatus> {
  if (ctx.config.databaseUrl) {
    const migrations = await migrationStatus(ctx.sql)
    return { mode: 'server', url: redactUrl(ctx.config.databaseUrl), embedded: null, migrations, current: migrations.every((m) => m.state === 'applied') }
  }
  const embedded = await embeddedStatus(ctx.config)
  const migrations = embedded.state === 'running' ? await migrationStatus(ctx.sql) : null
  return { mode: 'embedded', url: null, embedded, migrations, current: migrations && migrations.every((m) => m.state === 'applied') }
}

const notEmbedded = () =>
  new UsageError('DATABASE_URL is set, so momentry uses that server and does not start or stop it', 'Unset DATABASE_URL to use the embedded PostgreSQL, or manage the server with its own tools')

/** `db start`: start the embedded server now (it starts by itself on first use anyway). */
export async function startEmbeddedDatabase(ctx: CoreContext): Promise<EmbeddedStatus> {
  if (ctx.config.databaseUrl) throw notEmbedded()
  await ensureEmbeddedServer(ctx.config, ctx.log)
  await ctx.sql`select 1` // applies pending migrations too
  return embeddedStatus(ctx.config)
}

/** `db stop`: stop the embedded server now (fast shutdown; nothing committed is lost). */
export async function stopEmbeddedDatabase(ctx: CoreContext): Promise<EmbeddedStatus & { stopped: boolean }> {
  if (ctx.config.databaseUrl) throw notEmbedded()
  const { stopped } = await stopEmbeddedServer(ctx.config)
  return { ...(await embeddedStatus(ctx.config)), stopped }
}
