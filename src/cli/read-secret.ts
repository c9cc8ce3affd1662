import { UsageError } from '../core/errors.js'

/** Nothing a person pastes as a key, token or password is longer; we stop reading there. */
const MAX_BYTES = 4096

export interface SecretSource {
  /** What is read, for messages: `key`, `token`, `password`. */
  what: string
  /** How to give it, said with every refusal. */
  how: string
  /** A positional argument: accepted with a warning (argv is visible in `ps` and shell history). */
  positional?: string
  /** `--key-env VAR`: read it from the variable named by this flag. */
  env?: { flag: string; name: string | undefined }
  /**
   * A password: kept exactly (a password may begin or end with blanks), only the final line
   * break dropped, one line only. Otherwise the input is trimmed.
   */
  exact?: boolean
  /** Over 4 KiB: `refuse` (a usage error, the default) or `flag` (returned as `oversize`, unread beyond the limit). */
  oversize?: 'refuse' | 'flag'
}

export interface SecretInput {
  text: string
  /** True when stdin went past 4 KiB and was cut off unread (only with `oversize: 'flag'`). */
  oversize: boolean
}

/**
 * The one reader of secrets for every command: from a positional argument (warned), the
 * variable named by an `--…-env` flag, or stdin (at most 4 KiB). Every refusal is one usage
 * line saying how to give it.
 */
export async function readSecret(s: SecretSource): Promise<SecretInput> {
  const envName = s.env?.name
  if (s.positional !== undefined && envName) {
    throw new UsageError(`give the ${s.what} one way: positional or --${s.env!.flag}, not both`, s.how)
  }
  if (s.positional !== undefined) {
    process.stderr.write(`momentry warn: a ${s.what} on the command line is visible in ps and shell history; pipe it on stdin instead\n`)
    return { text: s.exact ? s.positional : s.positional.trim(), oversize: false }
  }
  if (envName) {
    const value = process.env[envName]
    if (value === undefined || value.trim() === '') throw new UsageError(`--${s.env!.flag}: ${envName} is not set or empty`, s.how)
    return { text: s.exact ? value : value.trim(), oversize: false }
  }
  return readStdin(s)
}

async function readStdin(s: SecretSource): Promise<SecretInput> {
  const stdin = process.stdin
  if (stdin.isTTY) throw new UsageError(`no ${s.what} on stdin`, s.how)
  const chunks: Buffer[] = []
  let size = 0
  let oversize = false
  for await (const chunk of stdin as AsyncIterable<Buffer>) {
    chunks.push(chunk)
    size += chunk.length
    if (size > MAX_BYTES) {
      oversize = true
      break
    }
  }
  if (oversize) {
    stdin.destroy()
    if (s.oversize !== 'flag') throw new UsageError(`the ${s.what} on stdin is longer than 4 KiB`, s.how)
  }
  const raw = Buffer.concat(chunks).subarray(0, MAX_BYTES).toString('utf8')
  const text = s.exact ? raw.replace(/\r?\n$/, '') : raw.trim()
  if (oversize) return { text, oversize }
  if (text === '') throw new UsageError(s.exact ? `no ${s.what} on stdin` : `no ${s.what} on stdin (it was empty)`, s.how)
  if (s.exact && text.includes('\n')) throw new UsageError(`the ${s.what} on stdin has more than one line`, s.how)
  return { text, oversize }
}
