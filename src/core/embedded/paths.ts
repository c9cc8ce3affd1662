import { join } from 'node:path'

/** Where an embedded server keeps what, under MOMENTRY_DATA_DIR. */
export interface EmbeddedPaths {
  dataDir: string
  /** PGDATA: owned by the server's user, mode 0700; the socket lives in it. */
  pgDir: string
  socketPath: string
  lockFile: string
  logFile: string
  /** Copies of the binaries, when the server's user cannot reach the installed package. */
  engineDir: string
}

/** The database momentry uses inside the embedded server, and its superuser. */
export const EMBEDDED_DATABASE = 'momentry'
export const EMBEDDED_USER = 'postgres'
export const EMBEDDED_PORT = 5432
/** A Unix socket path longer than this does not fit in sun_path (108 bytes on Linux). */
export const MAX_SOCKET_PATH = 103

export function embeddedPaths(dataDir: string): EmbeddedPaths {
  const pgDir = join(dataDir, 'pg')
  return {
    dataDir,
    pgDir,
    socketPath: join(pgDir, `.s.PGSQL.${EMBEDDED_PORT}`),
    lockFile: join(dataDir, 'pg.lock'),
    logFile: join(dataDir, 'pg.log'),
    engineDir: join(dataDir, 'engine'),
  }
}

/** The name the idle watchdog's connection carries, so that client counts leave it out. */
export const WATCHDOG_APPLICATION_NAME = 'momentry-idle-watch'

/** Whether the socket path fits in sun_path (bytes, not characters: a UTF-8 path may be longer). */
export const socketPathFits = (p: EmbeddedPaths) => Buffer.byteLength(p.socketPath) <= MAX_SOCKET_PATH

/** The postgres.js options of a connection to the embedded server's socket (one place for all of them). */
export function embeddedConnection(p: Pick<EmbeddedPaths, 'pgDir'>, options: { database?: string; applicationName?: string; max?: number } = {}) {
  return {
    host: p.pgDir,
    port: EMBEDDED_PORT,
    user: EMBEDDED_USER,
    database: options.database ?? EMBEDDED_DATABASE,
    max: options.max ?? 1,
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? 'momentry' },
  }
}
