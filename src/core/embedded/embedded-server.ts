import { spawn } from 'node:child_process'
import { chmod, chown, lstat, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

import postgres from 'postgres'

import type { Config } from '../config.js'
import { secureDataDir } from '../data-dir.js'
import type { Sql } from '../db/connect.js'
import { ConfigError, ConnectionError } from '../errors.js'
import { processIs } from '../file-lock.js'
import type { Logger } from '../log.js'
import type { Binaries } from './binaries.js'
import { copyBinaries, locateBinaries } from './binaries.js'
import { ensureIdleWatch, ensureIdleWatchLocked, stopIdleWatch } from './idle-watch-process.js'
import { withFileLock } from './lock.js'
import type { ServerUser } from './os-user.js'
import { blockedOnTheWay, childEnv, serverUser } from './os-user.js'
import type { EmbeddedPaths } from './paths.js'
import { EMBEDDED_DATABASE, EMBEDDED_PORT, EMBEDDED_USER, embeddedConnection, embeddedPaths, MAX_SOCKET_PATH, socketPathFits } from './paths.js'
import type { ClientSession } from './postmaster.js'
import { clientSessions, removeStalePidFiles, runningPostmaster, stopPostmaster } from './postmaster.js'

export interface EmbeddedStatus {
  mode: 'embedded'
  /** `stopping`: shutting down (idle stop, db stop); the next command starts it again once it is down. */
  state: 'running' | 'starting' | 'stopping' | 'stopped' | 'not initialised'
  pid: number | null
  socket: string
  dataDir: string
  /** Bytes on disk under the data directory's pg/ (0 before the first run). */
  sizeBytes: number
  /** The PostgreSQL major version of the data directory, and of the engine momentry ships. */
  dataVersion: number | null
  engineVersion: string | null
}

async function sizeOf(dir: string): Promise<number> {
  let total = 0
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, e.name)
    if (e.isDirectory()) total += await sizeOf(path)
    else total += (await lstat(path).catch(() => undefined))?.size ?? 0
  }
  return total
}

async function dataVersion(pgDir: string): Promise<number | null> {
  const text = await readFile(join(pgDir, 'PG_VERSION'), 'utf8').catch(() => undefined)
  return text === undefined ? null : Number(text.trim())
}

/** What `db status` and `doctor` say of the embedded server; reads files only, starts nothing. */
export async function embeddedStatus(config: Pick<Config, 'dataDir'>): Promise<EmbeddedStatus> {
  const p = embeddedPaths(config.dataDir)
  const [pm, version, size, engine] = await Promise.all([runningPostmaster(p.pgDir), dataVersion(p.pgDir), sizeOf(p.pgDir), locateBinaries().then((b) => b.version, () => null)])
  const state = pm ? (pm.ready ? 'running' : pm.status === 'stopping' ? 'stopping' : 'starting') : version === null ? 'not initialised' : 'stopped'
  return { mode: 'embedded', state, pid: pm?.pid ?? null, socket: p.socketPath, dataDir: config.dataDir, sizeBytes: size, dataVersion: version, engineVersion: engine }
}

/**
 * Make sure the data directory's server runs, starting it (and, the first time, creating
 * it) if not. One process does that at a time, under the data directory's lock; the others
 * wait and then find it running. Cheap when it already runs: a few small files read.
 */
export async function ensureEmbeddedServer(config: Pick<Config, 'dataDir' | 'embeddedIdleSeconds'>, log: Logger): Promise<EmbeddedPaths> {
  const p = embeddedPaths(config.dataDir)
  if ((await runningPostmaster(p.pgDir))?.ready) {
    await secureDataDir(p.dataDir, { create: false, log })
    await ensureIdleWatch(p, config.embeddedIdleSeconds)
    return p
  }
  if (!socketPathFits(p)) {
    throw new ConfigError(`MOMENTRY_DATA_DIR is too long for the embedded server's socket (${Buffer.byteLength(p.socketPath)} bytes; at most ${MAX_SOCKET_PATH})`, 'Use a shorter MOMENTRY_DATA_DIR')
  }
  const user = await serverUser()
  await prepareDataDir(p.dataDir, user, log)
  await withFileLock(p.lockFile, async () => {
    // Read again under the lock: another process may have started (or be stopping) it meanwhile.
    const pm = await runningPostmaster(p.pgDir)
    if (!pm || (await settle(p, pm.pid)) !== 'ready') {
      // None, or one that was shutting down (idle stop, db stop) and is gone now: start it.
      await removeStalePidFiles(p)
      const bins = await usableBinaries(p, user)
      if (!(await initialised(p))) await initialise(p, bins, user, log)
      await checkVersion(p, bins)
      await start(p, bins, user)
      await ensureDatabase(p)
    }
    await ensureIdleWatchLocked(p, config.embeddedIdleSeconds)
  })
  return p
}

/**
 * MOMENTRY_DATA_DIR, made if missing (a loose one tightened or refused: `secureDataDir`):
 * 0700 for the user alone; as root 0711, so that the server's user can pass through it to
 * its own pg/ (it cannot list the directory or read root's files in it, such as the 0600
 * credentials file).
 */
async function prepareDataDir(dir: string, user: ServerUser, log: Logger): Promise<void> {
  const mode = user.dedicated ? 0o711 : 0o700
  await secureDataDir(dir, { create: true, mode, log })
  const st = await stat(dir)
  if (user.dedicated && st.uid === 0 && (st.mode & 0o777) !== mode && (st.mode & 0o077) === 0) await chmod(dir, mode)
}

/** The installed binaries, or a copy the server's user can reach (root's home is 0700). */
async function usableBinaries(p: EmbeddedPaths, user: ServerUser): Promise<Binaries> {
  const bins = await locateBinaries()
  if (!user.dedicated) return bins
  const blockedData = await blockedOnTheWay(p.pgDir, user)
  if (blockedData) {
    throw new ConfigError(
      `the embedded server's user ${user.name} cannot reach ${p.pgDir} (${blockedData.dir} is mode ${blockedData.mode})`,
      'Point MOMENTRY_DATA_DIR at a directory outside root’s home, e.g. /var/lib/momentry (the default for root)',
    )
  }
  return (await blockedOnTheWay(bins.postgres, user)) ? copyBinaries(bins, p.engineDir) : bins
}

/** How the server's programs run: as its user, with a minimal environment (this process's may hold secrets). */
const asServer = (user: ServerUser) => ({ env: { ...childEnv(user.home), LC_ALL: 'C' }, ...(user.dedicated ? { uid: user.uid, gid: user.gid } : {}) })

async function run(cmd: string, args: string[], user: ServerUser): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...asServer(user) })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    child.once('error', reject)
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(out.trim().split('\n').slice(-3).join(' ') || `exit ${code}`))))
  })
}

/** A cluster is there once initdb finished: it is made aside and renamed into place (see `initialise`). */
const initialised = (p: EmbeddedPaths) => stat(join(p.pgDir, 'global', 'pg_control')).then(() => true, () => false)
/** Written once the `momentry` database exists: a first run cut short before that makes it on the next start. */
const readyMarker = (p: EmbeddedPaths) => join(p.pgDir, 'momentry-ready')

/**
 * initdb into a sibling `pg.init-<pid>`, then rename it to pg/: a first run killed in the
 * middle leaves a directory that the next one removes, never a half-made pg/. Under the lock.
 */
async function initialise(p: EmbeddedPaths, bins: Binaries, user: ServerUser & { created?: boolean }, log: Logger): Promise<void> {
  const who = user.dedicated ? `; PostgreSQL refuses to run as root, so it runs as the OS user ${user.name}${user.created ? ' (created now)' : ''}, which owns it` : ''
  log.info(`first run: creating the embedded PostgreSQL ${bins.major} database in ${p.pgDir}${who}`)
  // Leftovers of runs cut short: initdb's own directories, and a pg/ without a cluster (older momentry initialised in place).
  for (const name of await readdir(p.dataDir)) if (name.startsWith('pg.init-')) await rm(join(p.dataDir, name), { recursive: true, force: true })
  await rm(p.pgDir, { recursive: true, force: true })
  const aside = join(p.dataDir, `pg.init-${process.pid}`)
  await mkdir(aside, { mode: 0o700 })
  if (user.dedicated) await chown(aside, user.uid, user.gid)
  try {
    await run(bins.initdb, ['-D', aside, '-U', EMBEDDED_USER, '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-instructions'], user)
    await rename(aside, p.pgDir)
  } catch (error) {
    await rm(aside, { recursive: true, force: true })
    throw new ConfigError(`the embedded PostgreSQL could not be initialised in ${p.pgDir}: ${(error as Error).message}`, 'Fix what it says and run the command again (nothing was kept)', error)
  }
  log.debug(`embedded PostgreSQL initialised in ${p.pgDir}`)
}

async function checkVersion(p: EmbeddedPaths, bins: Binaries): Promise<void> {
  const version = await dataVersion(p.pgDir)
  if (version !== null && version !== bins.major) {
    throw new ConfigError(
      `the embedded database in ${p.pgDir} was made by PostgreSQL ${version}, and this momentry ships PostgreSQL ${bins.major}; it is not opened`,
      `With the momentry that made it, run \`momentry db export FILE\`; then move ${p.pgDir} aside and run \`momentry db import FILE\` with this one`,
    )
  }
}

/** Start the server detached (it outlives this process), listening on its socket only, and wait until it accepts connections. */
async function start(p: EmbeddedPaths, bins: Binaries, user: ServerUser): Promise<void> {
  const logFile = await open(p.logFile, 'a', 0o600)
  try {
    const child = spawn(
      bins.postgres,
      ['-D', p.pgDir, '-c', 'listen_addresses=', '-c', `unix_socket_directories=${p.pgDir}`, '-c', `port=${EMBEDDED_PORT}`, '-c', 'unix_socket_permissions=0700'],
      { detached: true, stdio: ['ignore', logFile.fd, logFile.fd], ...asServer(user) },
    )
    let exited: string | undefined
    child.once('exit', (code, signal) => (exited = `exit ${code ?? signal}`))
    child.once('error', (error) => (exited = error.message))
    child.unref()
    const state = child.pid === undefined ? 'gone' : await settle(p, child.pid, () => exited)
    if (state !== 'ready') await didNotStart(p, exited ?? 'it stopped while starting')
  } finally {
    await logFile.close()
  }
}

async function didNotStart(p: EmbeddedPaths, why: string): Promise<never> {
  const tail = (await readFile(p.logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' | ')
  throw new ConnectionError(`the embedded PostgreSQL did not start (${why}): ${tail}`, `See ${p.logFile}; \`momentry db status\` shows the data directory`)
}

/**
 * Wait until the postmaster `pid` accepts connections (`ready`) or is gone (`gone`: it
 * exited, or was shutting down and has finished). Crash recovery after a kill -9 can take
 * a while; a plain start is ~0.1–0.3 s.
 */
async function settle(p: EmbeddedPaths, pid: number, exited: () => string | undefined = () => undefined): Promise<'ready' | 'gone'> {
  const deadline = Date.now() + 60_000
  for (;;) {
    const pm = await runningPostmaster(p.pgDir)
    if (pm?.pid === pid && pm.ready) return 'ready'
    if (exited() || (pm?.pid !== pid && !(await processIs(pid, () => true)))) return 'gone'
    if (Date.now() > deadline) return didNotStart(p, pm?.status === 'stopping' ? 'it was still shutting down after 60 s' : 'timed out')
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** The `momentry` database in the server (made after initdb; again if a first run was cut short). */
async function ensureDatabase(p: EmbeddedPaths): Promise<void> {
  if (await stat(readyMarker(p)).then(() => true, () => false)) return
  const admin = postgres(embeddedConnection(p, { database: 'postgres' }))
  try {
    const [found] = await admin`select 1 from pg_database where datname = ${EMBEDDED_DATABASE}`
    if (!found) await admin`create database ${admin(EMBEDDED_DATABASE)}`
  } finally {
    await admin.end({ timeout: 1 })
  }
  await writeFile(readyMarker(p), '', { mode: 0o600 })
}

/** Stop the server now (fast shutdown: sessions end, nothing committed is lost), saying who was connected. */
export async function stopEmbeddedServer(config: Pick<Config, 'dataDir'>): Promise<{ stopped: boolean; pid: number | null; clients: ClientSession[] }> {
  const p = embeddedPaths(config.dataDir)
  await stopIdleWatch(p)
  return withFileLock(p.lockFile, async () => {
    const pm = await runningPostmaster(p.pgDir)
    if (!pm) {
      await removeStalePidFiles(p)
      return { stopped: false, pid: null, clients: [] }
    }
    const clients = pm.ready ? await listClients(p).catch(() => []) : []
    await stopPostmaster(p, pm.pid)
    return { stopped: true, pid: pm.pid, clients }
  })
}

/** The client sessions of a running server (the idle watchdog left out). */
async function listClients(p: EmbeddedPaths): Promise<ClientSession[]> {
  const sql = postgres(embeddedConnection(p, { database: 'postgres', applicationName: 'momentry-db-stop' }))
  try {
    return await clientSessions(sql as unknown as Sql)
  } finally {
    await sql.end({ timeout: 1 })
  }
}
