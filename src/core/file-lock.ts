import { open, readFile, stat, unlink } from 'node:fs/promises'
import { basename } from 'node:path'

import { ConfigError } from './errors.js'

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
 * A process's arguments from /proc (Linux): `null` when it is gone or a zombie (which has
 * none), `undefined` where /proc cannot say (other systems: ask `processAlive` instead).
 */
export async function processArgv(pid: number): Promise<string[] | null | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/cmdline`, 'utf8')
    return text ? text.replace(/\0$/, '').split('\0') : null
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && (await stat('/proc/self/cmdline').then(() => true, () => false))) return null
    return undefined
  }
}

/**
 * Whether `pid` is still the process that wrote it down: `argv` (from /proc, Linux) must
 * pass `test`, so that a pid the system has since given to another process does not
 * count; where /proc cannot tell, whether the pid exists at all.
 */
export async function processIs(pid: number, test: (argv: string[]) => boolean): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 0) return false
  const argv = await processArgv(pid)
  return argv === undefined ? processAlive(pid) : argv !== null && test(argv)
}

/** When this process started (clock ticks since boot, /proc/<pid>/stat field 22), '' where unknown. */
async function startTime(pid: number): Promise<string> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
  // The command name (field 2) is in parentheses and may hold spaces: count after the last ')'.
  return text.slice(text.lastIndexOf(')') + 2).split(' ')[19] ?? ''
}

/** What a lock file holds: `<pid> <start time>`, so that a reused pid is not taken for its holder. */
const identity = async (pid: number) => `${pid} ${await startTime(pid)}`.trim()

/**
 * Whether the holder written in a lock file still runs: same pid and, where /proc tells, same
 * start time — or, for a file holding a pid alone (older momentry), the same program as this one.
 */
async function holderRuns(text: string): Promise<boolean> {
  const [pid, started] = text.trim().split(' ')
  const n = Number(pid)
  if (!n || !processAlive(n)) return false
  if (!started) return processIs(n, (argv) => basename(argv[0] ?? '') === basename(process.argv0) || argv[0] === process.execPath)
  const now = await startTime(n)
  return !now || now === started
}

export interface FileLockOptions {
  /** How long to wait for another holder (default 120 s). */
  timeoutMs?: number
  /** The error when that is not enough, given the holder's pid (0: unknown). */
  busy?: (holder: number, waitedMs: number) => Error
}

const defaultBusy = (path: string) => (holder: number, waitedMs: number) =>
  new ConfigError(`${path} is held by process ${holder || '?'}, which has not let go after ${Math.round(waitedMs / 1000)} s`, `If no momentry process is running, remove ${path}`)

/** Take a lock file with O_EXCL, or undefined when it exists. */
async function create(path: string): Promise<boolean> {
  try {
    const handle = await open(path, 'wx', 0o600)
    try {
      await handle.writeFile(await identity(process.pid))
    } finally {
      await handle.close()
    }
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  }
}

/**
 * Remove a stale lock — one whose holder died (kill -9), or is being made by a process that
 * died between open and write (empty for a few seconds) — unless another process got there
 * first: the removal happens under `<path>.takeover` (O_EXCL too), and only if the file
 * still holds what was judged stale, so that two waiters cannot both take over and one of
 * them unlink the lock the other just made.
 */
async function takeOver(path: string, judged: string): Promise<void> {
  const sub = `${path}.takeover`
  if (!(await create(sub))) {
    // A takeover cut short (its maker died) would block every later one: it is stale after 5 s.
    const sage = Date.now() - ((await stat(sub).catch(() => undefined))?.mtimeMs ?? Date.now())
    if (sage > 5000 && !(await holderRuns(await readFile(sub, 'utf8').catch(() => '')))) await unlink(sub).catch(() => {})
    return
  }
  try {
    if ((await readFile(path, 'utf8').catch(() => undefined)) === judged) await unlink(path).catch(() => {})
  } finally {
    await unlink(sub).catch(() => {})
  }
}

/**
 * Hold an exclusive lock (a file made with O_EXCL holding our pid and its start time) while
 * `fn` runs; other processes wait for it. A lock left by a process that died is taken over
 * (see `takeOver`), also when its pid now belongs to some other process.
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, options: FileLockOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 120_000
  const deadline = Date.now() + timeoutMs
  for (let wait = 5; !(await create(path)); wait = Math.min(wait * 2, 50)) {
    const text = await readFile(path, 'utf8').catch(() => undefined)
    if (text === undefined) continue // let go meanwhile
    const age = Date.now() - ((await stat(path).catch(() => undefined))?.mtimeMs ?? Date.now())
    if (text.trim() ? !(await holderRuns(text)) : age > 5000) {
      await takeOver(path, text)
      continue
    }
    if (Date.now() > deadline) throw (options.busy ?? defaultBusy(path))(Number(text.trim().split(' ')[0]) || 0, timeoutMs)
    await new Promise((r) => setTimeout(r, wait))
  }
  try {
    return await fn()
  } finally {
    const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim().split(' ')[0])
    if (holder === process.pid) await unlink(path).catch(() => {})
  }
}
