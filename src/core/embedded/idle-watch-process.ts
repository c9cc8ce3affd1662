import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

import postgres from 'postgres'

import { packageRoot } from '../package-root.js'
import type { EmbeddedPaths } from './paths.js'
import { EMBEDDED_PORT, EMBEDDED_USER, runningPostmaster } from './paths.js'
import { processAlive, withFileLock } from './lock.js'

const pidFile = (p: EmbeddedPaths) => join(p.dataDir, 'pg-idle.pid')

async function watcherPid(p: EmbeddedPaths): Promise<number | undefined> {
  const pid = Number(await readFile(pidFile(p), 'utf8').catch(() => ''))
  return pid && processAlive(pid) ? pid : undefined
}

/**
 * The embedded server stops by itself after MOMENTRY_EMBEDDED_IDLE without a client. PostgreSQL
 * has no such setting, so a small detached process watches it (`embedded-watchdog.js`): it is
 * started with the server, and again by the next momentry process if it is gone.
 */
export async function ensureIdleWatch(p: EmbeddedPaths, idleSeconds: number): Promise<void> {
  if (await watcherPid(p)) return
  const root = packageRoot()
  const built = join(root, 'dist', 'embedded-watchdog.js')
  const args = existsSync(built) ? [built] : ['--import', 'tsx', join(root, 'src', 'embedded-watchdog.ts')]
  const child = spawn(process.execPath, [...args, p.dataDir, String(idleSeconds * 1000)], { detached: true, stdio: 'ignore' })
  child.unref()
  // Recorded here too, so that a second momentry process arriving at once does not start another.
  if (child.pid) await writeFile(pidFile(p), String(child.pid), { mode: 0o600 })
}

/** Stop the watchdog and wait until it is gone (so that a server started next gets a new one). */
export async function stopIdleWatch(p: EmbeddedPaths): Promise<void> {
  const pid = await watcherPid(p)
  if (!pid) return
  process.kill(pid, 'SIGTERM')
  for (const deadline = Date.now() + 5000; processAlive(pid) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10))
}

/**
 * The watchdog's loop: count the server's client sessions (its own excluded) every
 * `pollMs`; once there have been none for `idleMs`, stop the server (fast shutdown) under
 * the data directory's lock, so that a process starting it meanwhile waits and starts it
 * again afterwards. Ends when the server is gone, whoever stopped it.
 */
export async function watchIdle(p: EmbeddedPaths, idleMs: number, pollMs = Math.min(5000, Math.max(100, Math.floor(idleMs / 10)))): Promise<void> {
  await writeFile(pidFile(p), String(process.pid), { mode: 0o600 })
  const sql = postgres({ host: p.pgDir, port: EMBEDDED_PORT, user: EMBEDDED_USER, database: 'postgres', max: 1, idle_timeout: undefined, onnotice: () => {}, connection: { application_name: 'momentry-idle-watch' } })
  const clients = async () => {
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()`
    return row!.n
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
      const pm = await runningPostmaster(p.pgDir)
      if (!pm) break
      const busy = await clients().catch(() => 1) // a server that does not answer is not idle yet
      if (busy > 0) lastBusy = Date.now()
      else if (Date.now() - lastBusy >= idleMs) {
        const stopped = await withFileLock(p.lockFile, async () => {
          if ((await clients().catch(() => 1)) > 0) return false
          await sql.end({ timeout: 1 })
          process.kill(pm.pid, 'SIGINT')
          while (processAlive(pm.pid)) await new Promise((r) => setTimeout(r, 20))
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
    if ((await watcherPid(p)) === process.pid || !(await watcherPid(p))) await unlink(pidFile(p)).catch(() => {})
  }
}
