import { KEY_LENGTH, keyStub, parseRawKey } from '../api-keys/key-format.js'
import type { KeyType } from '../api-keys/key-types.js'

/** A momentry key found in some bytes: where it is, and the key itself (kept in memory only). */
export interface KeyHit {
  raw: string
  type: KeyType
  stub: string
  /** 1-based line and column (in bytes of the line) of the key's first character. */
  line: number
  column: number
}

const PREFIX = Buffer.from('mtry_', 'latin1')

function isBase62Byte(b: number | undefined): boolean {
  return b !== undefined && ((b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122))
}

/**
 * Every momentry key in `bytes`, recognised offline by its typed prefix and CRC32 check, so a
 * key with one character changed (or any other `mtry_…` text) is never reported. A key must
 * not run on into more base62 characters (that is some longer token). The search is for the
 * five prefix bytes (native `indexOf`); lines are counted only up to keys that check out.
 */
export function findKeys(bytes: Buffer): KeyHit[] {
  const hits: KeyHit[] = []
  let line = 1
  let lineStart = 0
  let counted = 0
  for (let at = bytes.indexOf(PREFIX); at !== -1; at = bytes.indexOf(PREFIX, at + 1)) {
    if (at + KEY_LENGTH > bytes.length || isBase62Byte(bytes[at + KEY_LENGTH])) continue
    const raw = bytes.toString('latin1', at, at + KEY_LENGTH)
    const type = parseRawKey(raw)
    if (!type) continue
    for (let i = bytes.indexOf(10, counted); i !== -1 && i < at; i = bytes.indexOf(10, i + 1)) {
      line++
      lineStart = i + 1
    }
    counted = at
    hits.push({ raw, type, stub: keyStub(raw), line, column: at - lineStart + 1 })
    at += KEY_LENGTH - 1
  }
  return hits
}

/** Git's test for a binary file: a NUL byte within the first 8,000 bytes. */
export function looksBinary(bytes: Buffer): boolean {
  return bytes.subarray(0, 8000).includes(0)
}
