import { readFile } from 'node:fs/promises'
import { join } from 'node:path'

import { processAlive } from './lock.js'

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

/** The running postmaster of a data directory (from its postmaster.pid), if any. */
export async function runningPostmaster(pgDir: string): Promise<{ pid: number; ready: boolean } | undefined> {
  const text = await readFile(join(pgDir, 'postmaster.pid'), 'utf8').catch(() => undefined)
  const lines = text?.split('\n') ?? []
  const pid = Number(lines[0])
  if (!pid || !processAlive(pid)) return undefined
  return { pid, ready: lines[7]?.trim() === 'ready' }
}

