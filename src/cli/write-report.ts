import { randomBytes } from 'node:crypto'
import { open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

import { ConfigError } from '../core/errors.js'

/**
 * `--out FILE` for reports: the whole text goes to a temporary file beside FILE, is synced, and
 * then renamed over FILE, so a reader (or a crash) never sees half a report and an old report
 * stays whole until the new one is complete. Reports hold no secret: the file is 0644 (less umask).
 */
export async function writeReportFile(file: string, text: string): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`)
  try {
    const handle = await open(tmp, 'wx', 0o644)
    try {
      await handle.writeFile(text.endsWith('\n') ? text : `${text}\n`)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(tmp, file)
  } catch (error) {
    await rm(tmp, { force: true }).catch(() => {})
    const e = error as NodeJS.ErrnoException
    throw new ConfigError(`cannot write ${file} (${e.code ?? e.message})`, 'Check the directory exists and is writable', error)
  }
}
