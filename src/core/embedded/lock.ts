import { open, readFile, stat, unlink } from 'node:fs/promises'

import { ConfigError } from '../errors.js'

/** Whether a process with this pid exists (EPERM: it does, but is another user's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Hold an exclusive lock (a file made with O_EXCL holding our pid) while `fn` runs, so that
 * one process initialises and starts the embedded server while the others wait, then find it
 * running. A lock left by a process that died (kill -9) is taken over.
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, options: { timeoutMs?: number } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000)
  for (let wait = 5; ; wait = Math.min(wait * 2, 50)) {
    try {
      const handle = await open(path, 'wx', 0o600)
      await handle.writeFile(String(process.pid))
      await handle.close()
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const holder = Number(await readFile(path, 'utf8').catch(() => ''))
      // A dead holder's lock is stale: take it over. Empty: its maker is between open and
      // write — or died there, which a few seconds tell.
      const age = Date.now() - ((await stat(path).catch(() => undefined))?.mtimeMs ?? Date.now())
      if ((holder && !processAlive(holder)) || (!holder && age > 5000)) {
        await unlink(path).catch(() => {})
        continue
      }
      if (Date.now() > deadline) {
        throw new ConfigError(`the embedded PostgreSQL is being started by process ${holder || '?'}, which has not finished after ${Math.round((options.timeoutMs ?? 120_000) / 1000)} s`, `If no momentry process is running, remove ${path}`)
      }
      await new Promise((r) => setTimeout(r, wait))
    }
  }
  try {
    return await fn()
  } finally {
    const holder = Number(await readFile(path, 'utf8').catch(() => ''))
    if (holder === process.pid) await unlink(path).catch(() => {})
  }
}

