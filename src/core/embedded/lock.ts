import { ConfigError } from '../errors.js'
import type { FileLockOptions } from '../file-lock.js'
import { withFileLock as withLock } from '../file-lock.js'

export { processAlive } from '../file-lock.js'

/**
 * The embedded server's start lock (`pg.lock`): one process initialises, starts or stops
 * the server while the others wait, then find it running. The generic lock is
 * `src/core/file-lock.ts`; this adds the message that names what the holder is doing.
 */
export function withFileLock<T>(path: string, fn: () => Promise<T>, options: FileLockOptions = {}): Promise<T> {
  return withLock(path, fn, {
    busy: (holder, waitedMs) =>
      new ConfigError(`the embedded PostgreSQL is being started by process ${holder || '?'}, which has not finished after ${Math.round(waitedMs / 1000)} s`, `If no momentry process is running, remove ${path}`),
    ...options,
  })
}
