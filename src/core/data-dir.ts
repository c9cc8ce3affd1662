import { chmod, mkdir, stat } from 'node:fs/promises'

import { ConfigError } from './errors.js'
import type { Logger } from './log.js'

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0')

/**
 * MOMENTRY_DATA_DIR holds the credential file, momentry's own secrets (the audit keys) and the
 * embedded database: whoever may write to it may swap any of them (a planted audit key, a
 * symlink where a secret is written). So before anything in it is read or written:
 * - a directory writable by group or others is tightened to 0700 when this user owns it
 *   (said once, as a warning), and refused (ConfigError, exit 8) when someone else does;
 * - a shared directory (sticky bit, as /tmp) is refused: it is not one user's to tighten.
 * Readable-only modes (0755, the embedded server's 0711 as root) are left as they are: the
 * files inside are 0600 and pg/ is 0700.
 *
 * `create` makes it when missing (with its missing parents, `mode`, default 0700); without
 * it a missing directory is fine (there is nothing in it to read yet).
 */
export async function secureDataDir(dir: string, options: { create: boolean; mode?: number; log?: Logger }): Promise<void> {
  if (options.create) await mkdir(dir, { recursive: true, mode: options.mode ?? 0o700 })
  let st
  try {
    st = await stat(dir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !options.create) return
    throw new ConfigError(`cannot use MOMENTRY_DATA_DIR ${dir} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, 'Point MOMENTRY_DATA_DIR at a directory this user owns')
  }
  if (!st.isDirectory()) throw new ConfigError(`MOMENTRY_DATA_DIR ${dir} is not a directory`, 'Point MOMENTRY_DATA_DIR at a directory this user owns, or remove what is there')
  if ((st.mode & 0o022) === 0) return
  const mine = process.getuid === undefined || st.uid === process.getuid()
  if (st.mode & 0o1000) {
    throw new ConfigError(
      `MOMENTRY_DATA_DIR ${dir} is a shared directory (mode ${octal(st.mode)}, sticky): anyone may put files in it`,
      'Point MOMENTRY_DATA_DIR at a directory of its own, e.g. a new one inside this one',
    )
  }
  if (!mine) {
    throw new ConfigError(
      `MOMENTRY_DATA_DIR ${dir} is writable by ${st.mode & 0o002 ? 'others' : 'its group'} (mode ${octal(st.mode)}) and belongs to uid ${st.uid}, not this user, so momentry will not tighten it`,
      `Run \`chmod 700 ${dir}\` as its owner, or point MOMENTRY_DATA_DIR at a directory this user owns`,
    )
  }
  await chmod(dir, 0o700)
  options.log?.warn(`MOMENTRY_DATA_DIR ${dir} was writable by ${st.mode & 0o002 ? 'others' : 'its group'} (mode ${octal(st.mode)}): tightened it to 0700`)
}
