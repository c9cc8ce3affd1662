import { connect as netConnect } from 'node:net'
import type { Socket } from 'node:net'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

import postgres from 'postgres'

import type { Config } from '../config.js'
import type { Sql } from '../db/connect.js'
import { reconnectBackoff } from '../db/connect.js'
import { migrate, migrationNames } from '../db/migrate.js'
import type { Logger } from '../log.js'
import { ensureEmbeddedServer } from './embedded-server.js'
import type { EmbeddedPaths } from './paths.js'
import { embeddedConnection, embeddedPaths } from './paths.js'
import { clientApplicationName, runningPostmaster } from './postmaster.js'

const opened = (path: string): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const socket = netConnect(path)
    socket.once('connect', () => {
      socket.off('error', reject)
      resolve(socket)
    })
    socket.once('error', reject)
  })

/** The migrations this data directory has had applied, as recorded beside its data. */
const markerOf = (p: EmbeddedPaths) => join(p.pgDir, 'momentry-migrations')

/** Apply momentry's migrations when this momentry has some the data directory has not had (first run, upgrade). */
async function migrateIfNeeded(p: EmbeddedPaths): Promise<void> {
  const names = (await migrationNames()).join('\n')
  if ((await readFile(markerOf(p), 'utf8').catch(() => '')) === names) return
  const sql = postgres(embeddedConnection(p, { applicationName: clientApplicationName() }))
  try {
    await migrate(sql as unknown as Sql)
  } finally {
    await sql.end({ timeout: 1 })
  }
  await writeFile(markerOf(p), names)
}

/**
 * The pool of embedded mode (no DATABASE_URL): every new connection first makes sure the
 * data directory's server runs — starting it, or creating it on the very first run, and
 * applying migrations — then connects to its Unix socket. Nothing happens until the first
 * query, so commands that need no database start nothing. A server that went away (idle
 * stop, kill) is started again by the next connection.
 */
export function connectEmbedded(config: Pick<Config, 'dataDir' | 'embeddedIdleSeconds'>, log: Logger, options: { max?: number; onQuery?: (q: string) => void } = {}): Sql {
  let ready: Promise<EmbeddedPaths> | undefined
  const ensure = () =>
    (ready ??= ensureEmbeddedServer(config, log).then(async (p) => {
      await migrateIfNeeded(p)
      return p
    })).catch((error: unknown) => {
      ready = undefined
      throw error
    })
  // `socket` is a postgres.js option its typings leave out (a function returning the socket to use).
  const options_ = {
    ...embeddedConnection(embeddedPaths(config.dataDir), { max: options.max ?? 4, applicationName: clientApplicationName() }),
    connect_timeout: 5,
    idle_timeout: 20,
    backoff: reconnectBackoff,
    debug: options.onQuery ? (_conn: number, query: string) => options.onQuery!(query) : undefined,
    socket: async () => {
      let p = await ensure()
      // Shutting down (idle stop, db stop) or gone since: start it again, once.
      if (!(await runningPostmaster(p.pgDir))?.ready) {
        ready = undefined
        p = await ensure()
      }
      try {
        return await opened(p.socketPath)
      } catch {
        ready = undefined // stopped since (idle, kill -9): start it again, once
        return opened((await ensure()).socketPath)
      }
    },
  }
  return postgres(options_ as postgres.Options<Record<string, never>>) as unknown as Sql
}

/**
 * Run `fn` on a connection to the embedded server if it is running now; never starts it nor
 * applies migrations (`db status` is read-only). Undefined when it is not running, or
 * stopped before `fn` was done.
 */
export async function withRunningEmbedded<T>(config: Pick<Config, 'dataDir'>, fn: (sql: Sql) => Promise<T>): Promise<T | undefined> {
  const p = embeddedPaths(config.dataDir)
  if (!(await runningPostmaster(p.pgDir))?.ready) return undefined
  const sql = postgres({ ...embeddedConnection(p, { applicationName: clientApplicationName() }), connect_timeout: 5 }) as unknown as Sql
  try {
    return await fn(sql)
  } catch (error) {
    if (!(await runningPostmaster(p.pgDir))?.ready) return undefined
    throw error
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {})
  }
}
