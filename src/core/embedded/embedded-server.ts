import { spawn } from 'node:child_process'
import { chmod, chown, lstat, mkdir, open, readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'

import postgres from 'postgres'

import type { Config } from '../config.js'
import { ConfigError, ConnectionError } from '../errors.js'
import type { Logger } from '../log.js'
import type { Binaries } from './binaries.js'
import { copyBinaries, locateBinaries } from './binaries.js'
import { processAlive, withFileLock } from './lock.js'
import type { ServerUser } from './os-user.js'
import { blockedOnTheWay, serverUser } from './os-user.js'
import { ensureIdleWatch, stopIdleWatch } from './idle-watch-process.js'
import type { EmbeddedPaths } from './paths.js'
import { EMBEDDED_DATABASE, EMBEDDED_PORT, EMBEDDED_USER, embeddedPaths, MAX_SOCKET_PATH, runningPostmaster } from './paths.js'

export interface EmbeddedStatus {
  mode: 'embedded'
  state: 'running' | 'starting' | 'stopped' | 'not initialised'
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
  const state = pm ? (pm.ready ? 'running' : 'starting') : version === null ? 'not initialised' : 'stopped'
  return { mode: 'embedded', state, pid: pm?.pid ?? null, socket: p.socketPath, dataDir: config.dataDir, sizeBytes: size, dataVersion: version, engineVersion: engine }
}

/**
 * Make sure the data directory's server runs, starting it (and, the first time, creating
 * it) if not. One process does that at a time, under the data directory's lock; the others
 * wait and then find it running. Cheap when it already runs: two files read.
 */
export async function ensureEmbeddedServer(config: Pick<Config, 'dataDir' | 'embeddedIdleSeconds'>, log: Logger): Promise<EmbeddedPaths> {
  const p = embeddedPaths(config.dataDir)
  if ((await runningPostmaster(p.pgDir))?.ready) {
    await ensureIdleWatch(p, config.embeddedIdleSeconds)
    return p
  }
  if (p.socketPath.length > MAX_SOCKET_PATH) {
    throw new ConfigError(`MOMENTRY_DATA_DIR is too long for the embedded server's socket (${p.socketPath.length} characters; at most ${MAX_SOCKET_PATH})`, 'Use a shorter MOMENTRY_DATA_DIR')
  }
  const user = await serverUser()
  await prepareDataDir(p.dataDir, user)
  await withFileLock(p.lockFile, async () => {
    const pm = await runningPostmaster(p.pgDir)
    if (pm?.ready) return
    if (pm) return waitForReady(p, pm.pid)
    const bins = await usableBinaries(p, user)
    if ((await dataVersion(p.pgDir)) === null) await initialise(p, bins, user, log)
    await checkVersion(p, bins)
    await start(p, bins, user)
    await ensureDatabase(p)
  })
  await ensureIdleWatch(p, config.embeddedIdleSeconds)
  return p
}

/**
 * MOMENTRY_DATA_DIR, made if missing: 0700 for the user alone; as root 0711, so that the
 * server's user can pass through it to its own pg/ (it cannot list the directory or read
 * root's files in it, such as the 0600 credentials file).
 */
async function prepareDataDir(dir: string, user: ServerUser): Promise<void> {
  const mode = user.dedicated ? 0o711 : 0o700
  await mkdir(dir, { recursive: true, mode })
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

async function run(cmd: string, args: string[], user: ServerUser): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' }, ...(user.dedicated ? { uid: user.uid, gid: user.gid } : {}) })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    child.once('error', reject)
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(out.trim().split('\n').slice(-3).join(' ') || `exit ${code}`))))
  })
}

async function initialise(p: EmbeddedPaths, bins: Binaries, user: ServerUser & { created?: boolean }, log: Logger): Promise<void> {
  const who = user.dedicated ? `; PostgreSQL refuses to run as root, so it runs as the OS user ${user.name}${user.created ? ' (created now)' : ''}, which owns it` : ''
  process.stderr.write(`momentry: first run: creating the embedded PostgreSQL ${bins.major} database in ${p.pgDir}${who}\n`)
  await mkdir(p.pgDir, { recursive: true, mode: 0o700 })
  if (user.dedicated) await chown(p.pgDir, user.uid, user.gid)
  try {
    await run(bins.initdb, ['-D', p.pgDir, '-U', EMBEDDED_USER, '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-instructions'], user)
  } catch (error) {
    throw new ConfigError(`the embedded PostgreSQL could not be initialised in ${p.pgDir}: ${(error as Error).message}`, `Remove ${p.pgDir} (it holds nothing yet) and try again`, error)
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
      { detached: true, stdio: ['ignore', logFile.fd, logFile.fd], env: { ...process.env, LC_ALL: 'C' }, ...(user.dedicated ? { uid: user.uid, gid: user.gid } : {}) },
    )
    let exited: string | undefined
    child.once('exit', (code, signal) => (exited = `exit ${code ?? signal}`))
    child.once('error', (error) => (exited = error.message))
    child.unref()
    await waitForReady(p, child.pid, () => exited)
  } finally {
    await logFile.close()
  }
}

async function waitForReady(p: EmbeddedPaths, pid: number | undefined, exited: () => string | undefined = () => undefined): Promise<void> {
  // Crash recovery after a kill -9 can take a while; a plain start is ~0.1–0.3 s.
  const deadline = Date.now() + 60_000
  for (;;) {
    const pm = await runningPostmaster(p.pgDir)
    if (pm?.ready && (pid === undefined || pm.pid === pid)) return
    const why = exited()
    if (why || Date.now() > deadline) {
      const tail = (await readFile(p.logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' | ')
      throw new ConnectionError(`the embedded PostgreSQL did not start (${why ?? 'timed out'}): ${tail}`, `See ${p.logFile}; \`momentry db status\` shows the data directory`)
    }
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** The `momentry` database in the server (made after initdb; again if a first run was cut short). */
async function ensureDatabase(p: EmbeddedPaths): Promise<void> {
  const admin = postgres({ host: p.pgDir, port: EMBEDDED_PORT, user: EMBEDDED_USER, database: 'postgres', max: 1, onnotice: () => {} })
  try {
    const [found] = await admin`select 1 from pg_database where datname = ${EMBEDDED_DATABASE}`
    if (!found) await admin`create database ${admin(EMBEDDED_DATABASE)}`
  } finally {
    await admin.end({ timeout: 1 })
  }
}

/** Stop the server now (fast shutdown: sessions end, nothing committed is lost). */
export async function stopEmbeddedServer(config: Pick<Config, 'dataDir'>): Promise<{ stopped: boolean; pid: number | null }> {
  const p = embeddedPaths(config.dataDir)
  await stopIdleWatch(p)
  return withFileLock(p.lockFile, async () => {
    const pm = await runningPostmaster(p.pgDir)
    if (!pm) return { stopped: false, pid: null }
    process.kill(pm.pid, 'SIGINT')
    for (const deadline = Date.now() + 60_000; processAlive(pm.pid); await new Promise((r) => setTimeout(r, 20))) {
      if (Date.now() > deadline) throw new ConnectionError(`the embedded PostgreSQL (pid ${pm.pid}) did not stop within 60 s`, `See ${p.logFile}`)
    }
    return { stopped: true, pid: pm.pid }
  })
}
