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

const PREFIX = 'mtry_'
/**
 * What is searched for: `y_`, the prefix's rarest letter and the byte after it. Node searches a
 * pattern this short by memchr on its first byte, in C++; `m` (the prefix's own first byte) is
 * common in text and code, `y` much less, so far fewer stops come back to JavaScript.
 */
const ANCHOR = Buffer.from('y_', 'latin1')
const ANCHOR_AT = PREFIX.indexOf('y_')
const PREFIX_BYTES = Buffer.from(PREFIX, 'latin1')

function isBase62Byte(b: number | undefined): boolean {
  return b !== undefined && ((b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122))
}

/**
 * Every momentry key in `bytes`, recognised offline by its typed prefix and CRC32 check, so a
 * key with one character changed (or any other `mtry_…` text) is never reported. A key must
 * not run on into more base62 characters (that is some longer token). Lines are counted only
 * up to keys that check out.
 */
export function findKeys(bytes: Buffer): KeyHit[] {
  const hits: KeyHit[] = []
  let line = 1
  let lineStart = 0
  let counted = 0
  for (let anchor = bytes.indexOf(ANCHOR, ANCHOR_AT); anchor !== -1; anchor = bytes.indexOf(ANCHOR, anchor + 1)) {
    const at = anchor - ANCHOR_AT
    if (at + KEY_LENGTH > bytes.length || isBase62Byte(bytes[at + KEY_LENGTH]) || bytes.compare(PREFIX_BYTES, 0, ANCHOR_AT, at, anchor) !== 0) continue
    const raw = bytes.toString('latin1', at, at + KEY_LENGTH)
    const type = parseRawKey(raw)
    if (!type) continue
    for (let i = bytes.indexOf(10, counted); i !== -1 && i < at; i = bytes.indexOf(10, i + 1)) {
      line++
      lineStart = i + 1
    }
    counted = at
    hits.push({ raw, type, stub: keyStub(raw), line, column: at - lineStart + 1 })
    anchor = at + KEY_LENGTH - 1
  }
  return hits
}

/** Git's test for a binary file: a NUL byte within the first 8,000 bytes. */
export function looksBinary(bytes: Buffer): boolean {
  return bytes.subarray(0, 8000).includes(0)
}
