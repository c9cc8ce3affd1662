import { randomBytes } from 'node:crypto'
import { open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

import { ExitCode, MomentryError, UsageError } from '../core/errors.js'
import { printable } from '../core/printable.js'

const PATH_ERRORS = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'EACCES', 'EPERM', 'EROFS', 'ENAMETOOLONG', 'ELOOP'])

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
    // The path is the user's --out: one that cannot be written to is a usage error (exit 2);
    // anything else (a full disk, an I/O error) is not theirs to fix by retyping it.
    if (e.code && PATH_ERRORS.has(e.code)) throw new UsageError(`--out ${printable(file, 80)}: cannot write there (${e.code})`, 'Give a file in a directory that exists and that you can write to')
    throw new MomentryError(`cannot write ${file} (${e.code ?? e.message})`, { code: 'WRITE_FAILED', exitCode: ExitCode.UNEXPECTED, cause: error })
  }
}
