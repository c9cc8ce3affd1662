import type { CoreContext } from '../context.js'
import { redactUrl } from '../config.js'
import { withRunningEmbedded } from '../embedded/connect-embedded.js'
import type { EmbeddedStatus } from '../embedded/embedded-server.js'
import { embeddedStatus, ensureEmbeddedServer, stopEmbeddedServer } from '../embedded/embedded-server.js'
import type { ClientSession } from '../embedded/postmaster.js'
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

/**
 * Which database momentry uses, and how its schema stands. Read-only: the embedded server is
 * asked directly if it runs, and is neither started nor migrated for this.
 */
export async function databaseStatus(ctx: CoreContext): Promise<DatabaseStatus> {
  if (ctx.config.databaseUrl) {
    const migrations = await migrationStatus(ctx.sql)
    return { mode: 'server', url: redactUrl(ctx.config.databaseUrl), embedded: null, migrations, current: migrations.every((m) => m.state === 'applied') }
  }
  const running = await embeddedStatus(ctx.config)
  const migrations = running.state === 'running' ? ((await withRunningEmbedded(ctx.config, migrationStatus)) ?? null) : null
  // Stopped while it was asked (idle stop): say so rather than what was true a moment ago.
  const embedded = running.state === 'running' && !migrations ? await embeddedStatus(ctx.config) : running
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

export type StopResult = EmbeddedStatus & { stopped: boolean; clients: ClientSession[] }

/**
 * `db stop`: stop the embedded server now (fast shutdown; nothing committed is lost). The
 * sessions it ended are listed, with a warning: a running serve or watch among them starts
 * the server again on its next query.
 */
export async function stopEmbeddedDatabase(ctx: CoreContext): Promise<StopResult> {
  if (ctx.config.databaseUrl) throw notEmbedded()
  const { stopped, clients } = await stopEmbeddedServer(ctx.config)
  if (clients.length > 0) ctx.log.warn(`${describeClients(clients)} connected to the embedded PostgreSQL; a momentry process still running (serve, watch) starts it again on its next query`)
  return { ...(await embeddedStatus(ctx.config)), stopped, clients }
}

/** "2 clients were (momentry/123, psql backend 456)". */
export function describeClients(clients: ClientSession[]): string {
  const names = clients.map((c) => (c.pid ? `${c.applicationName}` : `${c.applicationName || 'unnamed client'} (backend pid ${c.backendPid})`))
  return `${clients.length} ${clients.length === 1 ? 'client was' : 'clients were'} (${names.join(', ')})`
}
