import { randomBytes } from 'node:crypto'

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/** Random base62 text from the OS CSPRNG, without modulo bias (bytes ≥ 248 are rejected). */
export function randomBase62(length: number): string {
  let out = ''
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62]
    }
  }
  return out
}

/** A public id: `prefix` + 16 random base62 characters (`key_…`, `anm_…`, `whk_…`). */
export function newPublicId(prefix: string, length = 16): string {
  return `${prefix}${randomBase62(length)}`
}
