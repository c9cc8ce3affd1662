import { createHash, hash as cryptoHash, randomBytes } from 'node:crypto'

import type { KeyType } from './key-types.js'

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const BASE62_CHAR = /^[0-9A-Za-z]+$/

export const TYPE_CODES = {
  system: 'sys',
  user: 'usr',
  service: 'svc',
  integration: 'int',
  emergency: 'emg',
} as const satisfies Record<KeyType, string>

const TYPE_BY_CODE = new Map<string, KeyType>(Object.entries(TYPE_CODES).map(([t, c]) => [c, t as KeyType]))

/** 32 random bytes in base62 never need more than 43 characters (62^43 > 2^256). */
const BODY_LENGTH = 43
/** A CRC32 in base62 fits in 6 characters (62^6 > 2^32). */
const CHECK_LENGTH = 6
/** `mtry_` + 3-letter type + `_` */
const HEAD_PREFIX_LENGTH = 9
export const KEY_LENGTH = HEAD_PREFIX_LENGTH + BODY_LENGTH + CHECK_LENGTH
/** Characters of a key kept for display (`mtry_svc_AbC`), never enough to use it. */
export const STUB_LENGTH = 12

function encodeBigInt(value: bigint, width: number): string {
  let out = ''
  let n = value
  while (n > 0n) {
    out = ALPHABET[Number(n % 62n)] + out
    n /= 62n
  }
  return out.padStart(width, '0')
}

function encodeUint32(value: number): string {
  let out = ''
  let n = value
  for (let i = 0; i < CHECK_LENGTH; i++) {
    out = ALPHABET[n % 62] + out
    n = Math.floor(n / 62)
  }
  return out
}

/** The CRC-32 (IEEE) lookup table: a constant, computed once when the module loads. */
function makeCrcTable(): Uint32Array {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
}
const CRC_TABLE = makeCrcTable()

/**
 * CRC-32 of an ASCII string, in JS: for a 52-character key head this is several times
 * cheaper than a call into zlib. Non-ASCII input never reaches it (parseRawKey checks first).
 */
export function crc32Ascii(text: string): number {
  let c = 0xffffffff
  for (let i = 0; i < text.length; i++) c = CRC_TABLE[(c ^ text.charCodeAt(i)) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

function checksum(head: string): string {
  return encodeUint32(crc32Ascii(head))
}

/** A new raw key: `mtry_<t>_<32 random bytes in base62><crc32 in base62>`. */
export function generateRawKey(type: KeyType): string {
  const head = `mtry_${TYPE_CODES[type]}_${encodeBigInt(BigInt(`0x${randomBytes(32).toString('hex')}`), BODY_LENGTH)}`
  return head + checksum(head)
}

/**
 * Check a candidate key's shape and checksum without any I/O. Returns its type, or
 * undefined for anything that cannot be a momentry key (typos, guesses, garbage).
 */
export function parseRawKey(candidate: string): KeyType | undefined {
  if (candidate.length !== KEY_LENGTH || !candidate.startsWith('mtry_') || candidate[8] !== '_') return undefined
  const type = TYPE_BY_CODE.get(candidate.slice(5, 8))
  if (!type) return undefined
  const rest = candidate.slice(HEAD_PREFIX_LENGTH)
  if (!BASE62_CHAR.test(rest)) return undefined
  const head = candidate.slice(0, KEY_LENGTH - CHECK_LENGTH)
  return checksum(head) === candidate.slice(KEY_LENGTH - CHECK_LENGTH) ? type : undefined
}

/** SHA-256 of the raw key: the only form in which a key is stored or looked up. */
export function hashKey(raw: string): Buffer {
  return createHash('sha256').update(raw).digest()
}

/** The same hash as base64 text, the validation cache's key (one-shot `crypto.hash`, no Hash object). */
export function hashKeyBase64(raw: string): string {
  return cryptoHash('sha256', raw, 'base64')
}

export function keyStub(raw: string): string {
  return raw.slice(0, STUB_LENGTH)
}
