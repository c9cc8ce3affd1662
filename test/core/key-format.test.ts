import { createHash } from 'node:crypto'
import { crc32 } from 'node:zlib'

import { expect } from 'chai'
import fc from 'fast-check'

import { generateRawKey, hashKey, KEY_LENGTH, keyStub, parseRawKey, STUB_LENGTH, TYPE_CODES } from '../../src/core/api-keys/key-format.js'
import { KEY_ID_PATTERN, newKeyId } from '../../src/core/api-keys/key-id.js'
import { randomBase62 } from '../../src/core/random-id.js'
import type { KeyType } from '../../src/core/api-keys/key-types.js'
import { KEY_TYPES } from '../../src/core/api-keys/key-types.js'

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const KEY_SHAPE = /^mtry_(sys|usr|svc|int|emg)_[0-9A-Za-z]{43}[0-9A-Za-z]{6}$/

/** Independent base62 decoding of the 6-character check, to verify it really is the CRC32. */
function decodeBase62(text: string): number {
  let n = 0
  for (const ch of text) n = n * 62 + ALPHABET.indexOf(ch)
  return n
}

const keyTypeArb = fc.constantFrom(...KEY_TYPES)
const base62CharArb = fc.constantFrom(...ALPHABET.split(''))

describe('key format', () => {
  describe('generateRawKey', () => {
    it('given the key types, when mapping them to type codes, then they are sys/usr/svc/int/emg', () => {
      expect(TYPE_CODES).to.deep.equal({ system: 'sys', user: 'usr', service: 'svc', integration: 'int', emergency: 'emg' })
    })

    it('given the format constants, when reading KEY_LENGTH, then it is 9 + 43 + 6 = 58', () => {
      expect(KEY_LENGTH).to.equal(58)
    })

    for (const type of KEY_TYPES) {
      it(`given type ${type}, when generating a key, then it is mtry_${TYPE_CODES[type]}_ + 43 base62 + 6 base62 check`, () => {
        const key = generateRawKey(type)
        expect(key).to.match(KEY_SHAPE)
        expect(key.startsWith(`mtry_${TYPE_CODES[type]}_`)).to.equal(true)
        expect(key).to.have.length(KEY_LENGTH)
      })

      it(`given a generated ${type} key, when parsing it, then parseRawKey returns ${type}`, () => {
        expect(parseRawKey(generateRawKey(type))).to.equal(type)
      })
    }

    it('given a generated key, when decoding its last 6 characters as base62, then they equal the CRC32 of the rest', () => {
      for (const type of KEY_TYPES) {
        const key = generateRawKey(type)
        const head = key.slice(0, KEY_LENGTH - 6)
        expect(decodeBase62(key.slice(KEY_LENGTH - 6))).to.equal(crc32(head))
      }
    })

    it('given many generated keys, when measuring them, then every key has the same length (small bodies are zero-padded)', () => {
      fc.assert(
        fc.property(keyTypeArb, (type) => {
          const key = generateRawKey(type)
          return key.length === KEY_LENGTH && KEY_SHAPE.test(key)
        }),
        { numRuns: 500 },
      )
    })

    it('given many generated keys, when comparing them, then no two are equal', () => {
      const keys = new Set(Array.from({ length: 2000 }, () => generateRawKey('service')))
      expect(keys.size).to.equal(2000)
    })
  })

  describe('parseRawKey', () => {
    it('given any valid key, when one character is replaced by a different base62 character, then the key is rejected', () => {
      fc.assert(
        fc.property(keyTypeArb, fc.nat({ max: KEY_LENGTH - 1 }), base62CharArb, (type, index, replacement) => {
          const key = generateRawKey(type)
          fc.pre(key[index] !== replacement)
          const mutated = key.slice(0, index) + replacement + key.slice(index + 1)
          return parseRawKey(mutated) === undefined
        }),
        { numRuns: 2000 },
      )
    })

    it('given any valid key, when one character is replaced by an arbitrary code point, then the key is rejected', () => {
      fc.assert(
        fc.property(
          keyTypeArb,
          fc.nat({ max: KEY_LENGTH - 1 }),
          fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
          (type, index, replacement) => {
            const key = generateRawKey(type)
            fc.pre(key[index] !== replacement)
            const mutated = key.slice(0, index) + replacement + key.slice(index + 1)
            return parseRawKey(mutated) === undefined
          },
        ),
        { numRuns: 1000 },
      )
    })

    it('given a valid key, when every body and check position is substituted with every other base62 character, then all are rejected', () => {
      const key = generateRawKey('integration')
      let tried = 0
      for (let index = 9; index < KEY_LENGTH; index++) {
        for (const ch of ALPHABET) {
          if (ch === key[index]) continue
          tried++
          expect(parseRawKey(key.slice(0, index) + ch + key.slice(index + 1)), `position ${index} → ${ch}`).to.equal(undefined)
        }
      }
      expect(tried).to.equal(49 * 61)
    })

    it('given a valid key, when two different adjacent body characters are swapped, then the key is rejected', () => {
      fc.assert(
        fc.property(keyTypeArb, fc.integer({ min: 9, max: KEY_LENGTH - 8 }), (type, index) => {
          const key = generateRawKey(type)
          fc.pre(key[index] !== key[index + 1])
          const swapped = key.slice(0, index) + key[index + 1] + key[index] + key.slice(index + 2)
          return parseRawKey(swapped) === undefined
        }),
        { numRuns: 1000 },
      )
    })

    it('given a valid key, when its type code is swapped for another type code, then the key is rejected', () => {
      for (const type of KEY_TYPES) {
        const key = generateRawKey(type)
        for (const other of Object.values(TYPE_CODES)) {
          if (other === TYPE_CODES[type]) continue
          expect(parseRawKey(`mtry_${other}_${key.slice(9)}`)).to.equal(undefined)
        }
      }
    })

    it('given a key for an unknown type code with a correct checksum, when parsing it, then it is rejected', () => {
      const key = generateRawKey('system')
      const head = `mtry_xyz_${key.slice(9, KEY_LENGTH - 6)}`
      const check = key.slice(KEY_LENGTH - 6) // any 6 chars; the type check comes first
      expect(parseRawKey(head + check)).to.equal(undefined)
    })

    it('given a valid key with surrounding whitespace or a trailing newline, when parsing it, then it is rejected (no trimming)', () => {
      const key = generateRawKey('user')
      for (const candidate of [` ${key}`, `${key} `, `${key}\n`, `${key}\r\n`, `\t${key}`]) {
        expect(parseRawKey(candidate)).to.equal(undefined)
      }
    })

    it('given a valid key, when truncated or extended by one character, then it is rejected', () => {
      const key = generateRawKey('service')
      expect(parseRawKey(key.slice(0, -1))).to.equal(undefined)
      expect(parseRawKey(`${key}a`)).to.equal(undefined)
      expect(parseRawKey(`a${key}`)).to.equal(undefined)
    })

    it('given a valid key in upper or lower case, when parsing it, then it is rejected', () => {
      const key = generateRawKey('emergency')
      expect(parseRawKey(key.toUpperCase())).to.equal(undefined)
      // Lower-casing changes any upper-case body character, so the checksum breaks.
      const lower = `${key.slice(0, 9)}A${key.slice(10)}`.toLowerCase()
      expect(parseRawKey(lower)).to.equal(undefined)
    })

    it('given the empty string, when parsing it, then it is rejected', () => {
      expect(parseRawKey('')).to.equal(undefined)
    })

    it('given arbitrary strings, when parsing them, then parseRawKey never throws and rejects them', () => {
      fc.assert(
        fc.property(fc.string(), (s) => parseRawKey(s) === undefined),
        { numRuns: 1000 },
      )
    })

    it('given arbitrary full-unicode strings (incl. astral code points), when parsing them, then parseRawKey never throws and rejects them', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary' }), (s) => parseRawKey(s) === undefined),
        { numRuns: 1000 },
      )
    })

    it('given arbitrary strings of exactly KEY_LENGTH UTF-16 units (incl. lone surrogates), when parsing them, then they are rejected', () => {
      fc.assert(
        fc.property(
          fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: KEY_LENGTH, maxLength: KEY_LENGTH }),
          (units) => parseRawKey(String.fromCharCode(...units)) === undefined,
        ),
        { numRuns: 1000 },
      )
    })

    it('given strings with the right prefix and length but random base62 after it, when parsing them, then they are rejected', () => {
      fc.assert(
        fc.property(
          keyTypeArb,
          fc.array(base62CharArb, { minLength: KEY_LENGTH - 9, maxLength: KEY_LENGTH - 9 }),
          (type, rest) => parseRawKey(`mtry_${TYPE_CODES[type]}_${rest.join('')}`) === undefined,
        ),
        { numRuns: 2000 },
      )
    })

    it('given binary-ish input (random bytes decoded as latin1 and as UTF-8), when parsing it, then it never throws and is rejected', () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), (bytes) => {
          const buf = Buffer.from(bytes)
          return parseRawKey(buf.toString('latin1')) === undefined && parseRawKey(buf.toString('utf8')) === undefined
        }),
        { numRuns: 1000 },
      )
    })

    it('given a valid key with a NUL byte substituted or appended, when parsing it, then it is rejected', () => {
      const key = generateRawKey('system')
      expect(parseRawKey(`${key.slice(0, 20)}\u0000${key.slice(21)}`)).to.equal(undefined)
      expect(parseRawKey(`${key}\u0000`)).to.equal(undefined)
    })

    it('given very large strings (1 MB, and a valid key followed by 1 MB), when parsing them, then they are rejected quickly', () => {
      const key = generateRawKey('service')
      const inputs = ['a'.repeat(1_000_000), key + 'x'.repeat(1_000_000), key.repeat(20_000)]
      const started = process.hrtime.bigint()
      for (const input of inputs) expect(parseRawKey(input)).to.equal(undefined)
      // The length check comes first, so size must not matter (generous bound for noisy CI).
      expect(Number(process.hrtime.bigint() - started) / 1e6).to.be.below(50)
    })

    it('given large arbitrary strings, when parsing them, then parseRawKey never throws and rejects them', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary', minLength: 1000, maxLength: 20_000 }), (s) => parseRawKey(s) === undefined),
        { numRuns: 50 },
      )
    })

    it('given SQL-ish and shell-ish garbage, when parsing it, then it is rejected', () => {
      for (const s of ["' or 1=1 --", 'mtry_sys_; drop table api_keys;', '$(rm -rf /)', 'mtry_', 'mtry_sys_', 'null', 'undefined']) {
        expect(parseRawKey(s)).to.equal(undefined)
      }
    })
  })

  describe('hashKey', () => {
    it('given a raw key, when hashing it, then the result is its 32-byte SHA-256', () => {
      const key = generateRawKey('user')
      const hash = hashKey(key)
      expect(Buffer.isBuffer(hash)).to.equal(true)
      expect(hash).to.have.length(32)
      expect(hash.toString('hex')).to.equal(createHash('sha256').update(key, 'utf8').digest('hex'))
    })

    it('given a known input, when hashing it, then it matches the published SHA-256 test vector', () => {
      expect(hashKey('abc').toString('hex')).to.equal('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    })

    it('given two different keys, when hashing them, then the hashes differ', () => {
      expect(hashKey(generateRawKey('user')).equals(hashKey(generateRawKey('user')))).to.equal(false)
    })
  })

  describe('keyStub', () => {
    it('given a raw key, when taking its stub, then it is the first 12 characters (prefix + 3 body characters)', () => {
      const key = generateRawKey('service')
      expect(STUB_LENGTH).to.equal(12)
      expect(keyStub(key)).to.equal(key.slice(0, 12))
      expect(keyStub(key)).to.match(/^mtry_svc_[0-9A-Za-z]{3}$/)
    })
  })

  describe('newKeyId', () => {
    it('given newKeyId, when called many times, then every id matches KEY_ID_PATTERN and they are distinct', () => {
      const ids = Array.from({ length: 1000 }, () => newKeyId())
      for (const id of ids) expect(id).to.match(KEY_ID_PATTERN)
      expect(new Set(ids).size).to.equal(ids.length)
    })

    it('given KEY_ID_PATTERN, when testing near-misses, then they do not match', () => {
      for (const bad of ['key_', 'key_123456789012345', 'key_12345678901234567', 'KEY_1234567890123456', 'key-1234567890123456', 'key_123456789012345!', ' key_1234567890123456']) {
        expect(KEY_ID_PATTERN.test(bad), bad).to.equal(false)
      }
    })
  })

  describe('randomBase62', () => {
    it('given any length from 0 to 200, when generating text, then it has that length and only base62 characters', () => {
      fc.assert(
        fc.property(fc.nat({ max: 200 }), (length) => {
          const s = randomBase62(length)
          return s.length === length && [...s].every((ch) => ALPHABET.includes(ch))
        }),
        { numRuns: 300 },
      )
    })

    it('given a long sample, when counting characters, then all 62 characters occur (no part of the alphabet is unreachable)', () => {
      const sample = randomBase62(62 * 200)
      expect(new Set(sample).size).to.equal(62)
    })
  })
})
