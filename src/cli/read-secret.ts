import { UsageError } from '../core/errors.js'

export interface SecretInput {
  text: string
  /** True when the input went past the limit and was cut off unread. */
  oversize: boolean
}

/**
 * Read a secret piped on stdin, at most `maxBytes` (a key is 58 characters; anything much
 * longer is not a key, and we stop reading rather than buffer a megabyte). Trailing
 * newlines and surrounding blanks are dropped.
 */
export async function readSecretFromStdin(what: string, hint: string, maxBytes = 4096): Promise<SecretInput> {
  const stdin = process.stdin
  if (stdin.isTTY) throw new UsageError(`no ${what} on stdin`, hint)
  const chunks: Buffer[] = []
  let size = 0
  let oversize = false
  for await (const chunk of stdin as AsyncIterable<Buffer>) {
    chunks.push(chunk)
    size += chunk.length
    if (size > maxBytes) {
      oversize = true
      break
    }
  }
  if (oversize) stdin.destroy()
  const text = Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8').trim()
  if (!oversize && text === '') throw new UsageError(`no ${what} on stdin (it was empty)`, hint)
  return { text, oversize }
}
