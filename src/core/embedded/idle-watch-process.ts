import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { open, readFile, unlink } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'

import postgres from 'postgres'

import type { Sql } from '../db/connect.js'
import { processIs } from '../file-lock.js'
import { packageRoot } from '../package-root.js'
import { withFileLock } from './lock.js'
import { childEnv } from './os-user.js'
import type { EmbeddedPaths } from './paths.js'
import { embeddedConnection, WATCHDOG_APPLICATION_NAME } from './paths.js'
import { clientSessions, runningPostmaster, stopPostmaster } from './postmaster.js'

const pidFile = (p: EmbeddedPaths) => join(p.dataDir, 'pg-idle.pid')

/** Whether `pid` is this data directory's watchdog (not a process that got the pid of a dead one since). */
const isWatchdogOf = (pid: number, p: EmbeddedPaths) => processIs(pid, (argv) => argv.some((a) => /embedded-watchdog\.[jt]s$/.test(a)) && argv.includes(p.dataDir))

async function watcherPid(p: EmbeddedPaths): Promise<number | undefined> {
  const pid = Number((await readFile(pidFile(p), 'utf8').catch(() => '')).trim())
  return pid && (await isWatchdogOf(pid, p)) ? pid : undefined
}

/**
 * The embedded server stops by itself after MOMENTRY_EMBEDDED_IDLE without a client. PostgreSQL
 * has no such setting, so a small detached process watches it (`embedded-watchdog.js`): it is
 * started with the server, and again by the next momentry process if it is gone.
 */
export async function ensureIdleWatch(p: EmbeddedPaths, idleSeconds: number): Promise<void> {
  if (await watcherPid(p)) return
  await withFileLock(p.lockFile, () => ensureIdleWatchLocked(p, idleSeconds))
}

/**
 * `ensureIdleWatch` for a caller that holds the data directory's lock. The watchdog's pid
 * file is made with O_EXCL before it is spawned, and a watchdog that does not find its own
 * pid there leaves at once: there is never a second one.
 */
export async function ensureIdleWatchLocked(p: EmbeddedPaths, idleSeconds: number): Promise<void> {
  if (await watcherPid(p)) return
  if (!(await runningPostmaster(p.pgDir))?.ready) return // stopped meanwhile: nothing to watch
  await unlink(pidFile(p)).catch(() => {}) // its process is gone (or its pid is another's now)
  const handle = await open(pidFile(p), 'wx', 0o600)
  try {
    const root = packageRoot()
    const built = join(root, 'dist', 'embedded-watchdog.js')
    const args = existsSync(built) ? [built] : ['--import', 'tsx', join(root, 'src', 'embedded-watchdog.ts')]
    const child = spawn(process.execPath, [...args, p.dataDir, String(idleSeconds * 1000)], { detached: true, stdio: 'ignore', env: childEnv(homedir()) })
    child.once('error', () => {}) // not started: the next momentry process tries again
    child.unref()
    if (child.pid) await handle.writeFile(String(child.pid))
  } finally {
    await handle.close()
  }
}

/** Stop the watchdog and wait until it is gone (so that a server started next gets a new one). */
export async function stopIdleWatch(p: EmbeddedPaths): Promise<void> {
  const pid = await watcherPid(p)
  if (!pid) return
  process.kill(pid, 'SIGTERM')
  for (const deadline = Date.now() + 5000; (await isWatchdogOf(pid, p)) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10))
}

/** Whether the pid file names this process: its spawner writes it just after spawning, so wait a little for it. */
async function recordedAsWatchdog(p: EmbeddedPaths): Promise<boolean> {
  for (const deadline = Date.now() + 5000; ; await new Promise((r) => setTimeout(r, 20))) {
    const text = (await readFile(pidFile(p), 'utf8').catch(() => '')).trim()
    if (text || Date.now() > deadline) return text === String(process.pid)
  }
}

/**
 * The watchdog's loop: count the server's client sessions (watchdogs left out) every
 * `pollMs`; once there have been none for `idleMs`, stop the server (fast shutdown) under
 * the data directory's lock, so that a process starting it meanwhile waits and starts it
 * again afterwards. Ends when the server is gone or shutting down, whoever stopped it.
 */
export async function watchIdle(p: EmbeddedPaths, idleMs: number, pollMs = Math.min(5000, Math.max(100, Math.floor(idleMs / 10)))): Promise<void> {
  if (!(await recordedAsWatchdog(p))) return // another one is the watchdog
  const sql = postgres({ ...embeddedConnection(p, { database: 'postgres', applicationName: WATCHDOG_APPLICATION_NAME }), idle_timeout: undefined }) as unknown as Sql
  const clients = async () => (await clientSessions(sql)).length
  // Let go of the pid file under the lock, so that a process starting the server meanwhile
  // either sees this watchdog still recorded (before) or starts a new one (after).
  const release = async () => {
    if ((await readFile(pidFile(p), 'utf8').catch(() => '')).trim() === String(process.pid)) await unlink(pidFile(p)).catch(() => {})
  }
  let quit = false
  let wake = () => {}
  process.once('SIGTERM', () => {
    quit = true
    wake()
  })
  try {
    let lastBusy = Date.now()
    while (!quit) {
      // Gone, or shutting down (whoever asked): this watchdog's own session must not hold a
      // smart shutdown up; the next start brings a new watchdog.
      if ((await runningPostmaster(p.pgDir))?.status !== 'ready') break
      const busy = await clients().catch(() => 1) // a server that does not answer is not idle yet
      if (busy > 0) lastBusy = Date.now()
      else if (Date.now() - lastBusy >= idleMs) {
        const stopped = await withFileLock(p.lockFile, async () => {
          // Again under the lock: a client may have come, or someone else stopped it.
          const pm = await runningPostmaster(p.pgDir)
          if (!pm) return true
          if ((await clients().catch(() => 1)) > 0) return false
          await sql.end({ timeout: 1 })
          await stopPostmaster(p, pm.pid)
          await release()
          return true
        })
        if (stopped) break
        lastBusy = Date.now()
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, pollMs)
        wake = () => {
          clearTimeout(t)
          r()
        }
      })
    }
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {})
    await withFileLock(p.lockFile, release, { timeoutMs: 10_000 }).catch(release)
  }
}
