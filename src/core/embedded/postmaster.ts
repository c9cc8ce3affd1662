import { readFile, unlink } from 'node:fs/promises'
import { basename, join } from 'node:path'

import type { Sql } from '../db/connect.js'
import { ConnectionError } from '../errors.js'
import { processIs } from '../file-lock.js'
import type { EmbeddedPaths } from './paths.js'
import { EMBEDDED_PORT, WATCHDOG_APPLICATION_NAME } from './paths.js'

/** A postmaster.pid's state line (8th): `starting`, `stopping`, `ready` or `standby`. */
export interface Postmaster {
  pid: number
  status: string
  /** Accepting connections (not starting, not shutting down). */
  ready: boolean
}

const pidFileOf = (pgDir: string) => join(pgDir, 'postmaster.pid')

/** Whether `pid` is a postgres server of this data directory (not a process that got its pid since). */
const isPostmasterOf = (pid: number, pgDir: string, recordedDir: string | undefined) =>
  processIs(pid, (argv) => basename(argv[0] ?? '') === 'postgres' && argv.some((a) => a === pgDir || (recordedDir !== undefined && a === recordedDir)))

/**
 * The running postmaster of a data directory, from its postmaster.pid — if that pid is still
 * a postgres of this directory (/proc on Linux; elsewhere the pid must exist): a file left by
 * a kill -9 whose pid the system gave to another process since does not count.
 */
export async function runningPostmaster(pgDir: string): Promise<Postmaster | undefined> {
  const text = await readFile(pidFileOf(pgDir), 'utf8').catch(() => undefined)
  const lines = text?.split('\n') ?? []
  const pid = Number(lines[0])
  if (!pid || !(await isPostmasterOf(pid, pgDir, lines[1]?.trim()))) return undefined
  const status = lines[7]?.trim() ?? ''
  return { pid, status, ready: status === 'ready' }
}

/**
 * Remove the lock files of a server that is gone (postmaster.pid, the socket's .lock): left by
 * a kill -9, they would make PostgreSQL refuse to start if their pid now belongs to another
 * live process. Call under the data directory's lock, after `runningPostmaster` said none runs.
 */
export async function removeStalePidFiles(p: EmbeddedPaths): Promise<void> {
  if (await runningPostmaster(p.pgDir)) return
  await unlink(pidFileOf(p.pgDir)).catch(() => {})
  await unlink(join(p.pgDir, `.s.PGSQL.${EMBEDDED_PORT}.lock`)).catch(() => {})
}

/**
 * Stop the server (SIGINT: fast shutdown, sessions end, nothing committed is lost) and wait
 * until it is gone — its postmaster.pid removed, or its pid no longer a postgres of this
 * directory (a zombie no longer counts) — for at most `timeoutMs`. Under the lock.
 */
export async function stopPostmaster(p: EmbeddedPaths, pid: number, timeoutMs = 60_000): Promise<void> {
  try {
    process.kill(pid, 'SIGINT')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error
  }
  for (const deadline = Date.now() + timeoutMs; (await runningPostmaster(p.pgDir))?.pid === pid; await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() > deadline) throw new ConnectionError(`the embedded PostgreSQL (pid ${pid}) did not stop within ${Math.round(timeoutMs / 1000)} s`, `See ${p.logFile}`)
  }
  await removeStalePidFiles(p)
}

/** A client session of the embedded server: its application_name and, for momentry's own, the OS pid of the process. */
export interface ClientSession {
  applicationName: string
  /** The momentry process (from its application_name `momentry/<pid>`), null for other clients. */
  pid: number | null
  /** The server process serving it (pg_stat_activity.pid). */
  backendPid: number
}

/** momentry's embedded connections carry their process's pid, so that `db stop` can name who would start it again. */
export const clientApplicationName = (pid = process.pid) => `momentry/${pid}`

/** The server's client sessions, leaving out the asking one and the idle watchdog. */
export async function clientSessions(sql: Sql): Promise<ClientSession[]> {
  const rows = await sql<{ pid: number; application_name: string }[]>`
    select pid, coalesce(application_name, '') as application_name from pg_stat_activity
    where backend_type = 'client backend' and pid <> pg_backend_pid() and coalesce(application_name, '') <> ${WATCHDOG_APPLICATION_NAME}
    order by pid`
  return rows.map((r) => ({ applicationName: r.application_name, pid: Number(/^momentry\/(\d+)$/.exec(r.application_name)?.[1]) || null, backendPid: r.pid }))
}
