import postgres from 'postgres'

import { redactUrl } from '../config.js'
import { ConfigError, ConflictError, ConnectionError, MomentryError, UsageError } from '../errors.js'

export type Sql = postgres.Sql<Record<string, never>>
export type TransactionSql = postgres.TransactionSql<Record<string, never>>
/** Either the pool or a transaction: repository functions accept both. */
export type Queryable = Sql | TransactionSql

export interface ConnectOptions {
  max?: number
  /** Called once per query; tests use it to prove a path made no query. */
  onQuery?: (query: string) => void
}

/**
 * Open a postgres.js pool. It connects lazily, on the first query, so building a context
 * costs nothing for a command that never reaches the database.
 */
export function connectPostgres(url: string, options: ConnectOptions = {}): Sql {
  return postgres(url, {
    max: options.max ?? 4,
    connect_timeout: 5,
    idle_timeout: 20,
    backoff: reconnectBackoff,
    onnotice: () => {},
    connection: { application_name: 'momentry' },
    debug: options.onQuery ? (_conn, query) => options.onQuery!(query) : undefined,
  }) as Sql
}

/**
 * Seconds before a pool connection that closed with an error connects again. postgres.js's
 * own (3^n/100 s, up to 20 s, with n shared by the pool and counted per failed connection)
 * reaches 20 s within a few seconds of an outage, and a query queued on a connection waits
 * out its delay even once the server is back: after a 3 s restart, validations waited 13–21 s.
 * Doubling from 50 ms up to 1 s keeps the attempts cheap (a few a second per pool) and the
 * wait after a restart under a second.
 */
export function reconnectBackoff(retries: number): number {
  return (0.5 + Math.random() / 2) * Math.min(0.05 * 2 ** retries, 1)
}

/** Close a pool, giving in-flight queries a moment to finish. */
export async function closePostgres(sql: Sql): Promise<void> {
  await sql.end({ timeout: 2 })
}

/** The database name of a connection URL. */
export function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, '')) || 'postgres'
}

interface PgLikeError {
  code?: string
  message?: string
  errno?: string
  address?: string
  port?: number
}

/** How messages name the database in use: DATABASE_URL without its password, or the embedded one. */
export function databaseLabel(config: { databaseUrl?: string; dataDir: string }): string {
  return config.databaseUrl ? redactUrl(config.databaseUrl) : `the embedded PostgreSQL in ${config.dataDir}`
}

/**
 * Translate what postgres.js throws into a typed momentry error with a next step, or
 * return undefined for errors that are not about the database. `where` names the database
 * (`databaseLabel`).
 */
export function classifyPostgresError(error: unknown, where = 'DATABASE_URL'): MomentryError | undefined {
  if (error instanceof MomentryError) return error
  if (!error || typeof error !== 'object') return undefined
  const e = error as PgLikeError
  const embedded = where.startsWith('the embedded')
  // The embedded server stopped under this command (idle stop, db stop): between the check that
  // it runs and the connection (no socket, refused), or with the session open (terminated, closed).
  const stoppedUnder = ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'CONNECTION_CLOSED', 'CONNECTION_DESTROYED', '57P01', '57P02', '57P03']
  if (embedded && ((e.code === 'ENOENT' && e.address?.includes('.s.PGSQL.')) || stoppedUnder.includes(e.code ?? ''))) {
    return new ConnectionError(`${where} stopped while this command was using it (${e.code})`, 'Run the command again (it starts the server), or `momentry db start` first', error)
  }
  switch (e.code) {
    case '57P01':
    case '57P02':
    case '57P03':
      return new ConnectionError(`PostgreSQL at ${where} is shutting down or starting up (${e.code})`, 'Run the command again once it is up; `momentry doctor` checks it', error)
    case 'ECONNREFUSED':
    // The server went away under a session: postgres.js rejects what was in flight with the
    // socket's own error (a fast shutdown resets connections it has not closed yet).
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ETIMEDOUT':
    case 'CONNECT_TIMEOUT':
    case 'CONNECTION_CLOSED':
    case 'CONNECTION_ENDED':
    case 'CONNECTION_DESTROYED':
    // The server went away under an open connection (a failover, a network cut).
    case 'ECONNABORTED':
      return new ConnectionError(
        `cannot reach ${where.startsWith('the embedded') ? where : `PostgreSQL at ${where}`} (${e.code})`,
        where.startsWith('the embedded') ? 'Run `momentry db status` and see its pg.log; `momentry doctor` checks it' : 'Check that PostgreSQL is running and DATABASE_URL is right, then run `momentry doctor`',
        error,
      )
    case '28P01':
    case '28000':
      return new ConnectionError(`PostgreSQL refused the login for ${where}`, 'Fix the user or password in DATABASE_URL', error)
    case '3D000':
      return new ConnectionError(
        `the database in ${where} does not exist`,
        'Run `momentry db migrate`, which creates it and its tables',
        error,
      )
    case '42P01':
    case '42703':
      return new ConfigError(
        'the database is missing momentry tables or columns (migrations not applied)',
        'Run `momentry db migrate`',
        error,
      )
    case '55P03':
    case '40001':
    case '40P01':
      return new ConflictError('another momentry operation holds this record', 'Try again in a moment', error)
    case '53300':
      return new ConnectionError('PostgreSQL has no free connections', 'Try again, or raise max_connections', error)
    // A date PostgreSQL cannot hold (year 0, beyond its range): input the edge did not bound.
    case '22007':
    case '22008':
      return new UsageError('a date or time is outside the range PostgreSQL accepts', 'Give a date between 0001-01-01 and 9999-12-31')
    default:
      // Class 08, connection exception: the connection failed or was lost.
      if (e.code?.startsWith('08')) {
        return new ConnectionError(`lost the connection to ${embedded ? where : `PostgreSQL at ${where}`} (${e.code})`, 'Run the command again once it is reachable; `momentry doctor` checks it', error)
      }
      return undefined
  }
}

/**
 * postgres.js (3.4.x) pauses the connection's socket when a COPY's readable is full and
 * resumes it only when the readable is read again; if the end of the COPY came in the same
 * packet, nothing reads again and the connection never hears another answer
 * (porsager/postgres#499, PR #1016 open). The readable's read is that resume: call it once
 * the COPY is over (a no-op when the socket flows). Used by `db export` and `audit verify`.
 */
export function resumeAfterCopy(copy: unknown): void {
  ;(copy as { _read?: (n: number) => void })._read?.(0)
}
