import type { KeyObject } from 'node:crypto'
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto'

import type { SecretStore } from '../credentials/secret-store.js'
import { ConfigError, UsageError } from '../errors.js'
import type { Logger } from '../log.js'

/** The credential-store account of the Ed25519 key that signs checkpoints (PKCS#8, base64). */
export const SIGNING_KEY_ACCOUNT = 'audit-signing-key'
/** The signer's name on every note (C2SP signed-note key name). */
export const SIGNER_NAME = 'momentry-audit'
const ED25519 = 0x01

/** What a checkpoint vouches for: this database's chain had this row with this hash at this time. */
export interface Checkpoint {
  origin: string
  seq: number
  hash: Buffer
  time: Date
}

export interface SigningKey {
  privateKey: KeyObject
  publicKey: KeyObject
  /** The note verifier key: `<name>+<key hash hex>+<base64(0x01 ‖ public key)>`. */
  vkey: string
}

/** The raw 32-byte Ed25519 public key. */
function rawPublic(publicKey: KeyObject): Buffer {
  return Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url')
}

/** C2SP signed-note key hash: SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key), first 4 bytes. */
function keyHash(name: string, raw: Buffer): Buffer {
  return createHash('sha256').update(`${name}\n`).update(Buffer.from([ED25519])).update(raw).digest().subarray(0, 4)
}

function toSigningKey(privateKey: KeyObject): SigningKey {
  const publicKey = createPublicKey(privateKey)
  const raw = rawPublic(publicKey)
  const vkey = `${SIGNER_NAME}+${keyHash(SIGNER_NAME, raw).toString('hex')}+${Buffer.concat([Buffer.from([ED25519]), raw]).toString('base64')}`
  return { privateKey, publicKey, vkey }
}

/** The signing key from the credential store, made on first use (said once). */
export async function signingKey(secrets: SecretStore, log: Logger, create: boolean): Promise<SigningKey | undefined> {
  let stored = await secrets.get(SIGNING_KEY_ACCOUNT)
  if (!stored) {
    if (!create) return undefined
    const { privateKey } = generateKeyPairSync('ed25519')
    const fresh = privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64')
    stored = await secrets.create(SIGNING_KEY_ACCOUNT, fresh)
    if (stored === fresh) log.warn(`generated the audit checkpoint signing key in ${await secrets.describe()}`)
  }
  try {
    return toSigningKey(createPrivateKey({ key: Buffer.from(stored, 'base64'), format: 'der', type: 'pkcs8' }))
  } catch {
    throw new ConfigError(`the credential-store entry ${SIGNING_KEY_ACCOUNT} is not an Ed25519 key`, 'Restore it from a backup; checkpoints signed by it can still be checked with --vkey')
  }
}

/** A verifier key string → the public key it names. */
export function parseVkey(vkey: string): { name: string; publicKey: KeyObject; hash: Buffer } {
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(vkey.trim())
  const bytes = m ? Buffer.from(m[3]!, 'base64') : Buffer.alloc(0)
  if (!m || bytes.length !== 33 || bytes[0] !== ED25519) throw new UsageError('--vkey is not a momentry verifier key', 'Give the `vkey` that `momentry audit checkpoint --json` prints, e.g. momentry-audit+1a2b3c4d+AQ…')
  const raw = bytes.subarray(1)
  if (!keyHash(m[1]!, raw).equals(Buffer.from(m[2]!, 'hex'))) throw new UsageError('--vkey does not match its own key hash', 'Copy the whole verifier key again')
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' })
  return { name: m[1]!, publicKey, hash: keyHash(m[1]!, raw) }
}

function noteText(c: Checkpoint): string {
  return `${c.origin}\n${c.seq}\n${c.hash.toString('base64')}\n${c.time.toISOString()}\n`
}

/** The signed note: the text, a blank line, then `— <name> <base64(key hash ‖ signature)>`. */
export function signCheckpoint(c: Checkpoint, key: SigningKey): string {
  const text = noteText(c)
  const signature = sign(null, Buffer.from(text, 'utf8'), key.privateKey)
  const raw = rawPublic(key.publicKey)
  return `${text}\n— ${SIGNER_NAME} ${Buffer.concat([keyHash(SIGNER_NAME, raw), signature]).toString('base64')}\n`
}

/** Parse a signed note and check its signature with `publicKey`. Bad input is one clear line (exit 2). */
export function openCheckpoint(note: string, source: string, verifier: { name: string; publicKey: KeyObject; hash: Buffer }): Checkpoint {
  const bad = (what: string) => new UsageError(`${source} is not a valid momentry checkpoint: ${what}`, 'Give a file written by `momentry audit checkpoint --out F` (or an audit.checkpoint webhook payload\'s note)')
  const split = note.indexOf('\n\n')
  if (split < 0) throw bad('no signature block')
  const text = note.slice(0, split + 1)
  const lines = text.split('\n')
  if (lines.length !== 5 || lines[4] !== '') throw bad('expected origin, sequence, hash and time lines')
  const [origin, seqText, hashText, timeText] = lines as [string, string, string, string]
  const hash = Buffer.from(hashText, 'base64')
  const time = new Date(timeText)
  if (!/^momentry-audit\/[0-9a-f-]{36}$/.test(origin)) throw bad('unknown origin line')
  if (!/^\d{1,19}$/.test(seqText)) throw bad('the sequence line is not a number')
  if (hash.length !== 32 || hash.toString('base64') !== hashText) throw bad('the hash line is not a base64 SHA-256')
  if (Number.isNaN(time.getTime())) throw bad('the time line is not a time')
  const signatures = note.slice(split + 2).split('\n').filter((l) => l !== '')
  const mine = signatures
    .map((l) => /^— (\S+) ([A-Za-z0-9+/=]+)$/.exec(l))
    .find((m) => m && m[1] === verifier.name && Buffer.from(m[2]!, 'base64').subarray(0, 4).equals(verifier.hash))
  if (!mine) throw bad(`no signature by ${verifier.name} with this key (${verifier.hash.toString('hex')})`)
  const signature = Buffer.from(mine[2]!, 'base64').subarray(4)
  if (!verify(null, Buffer.from(text, 'utf8'), verifier.publicKey, signature)) throw bad('the signature does not verify: the note was altered or signed by another key')
  return { origin, seq: Number(seqText), hash, time }
}

export function verifierOf(key: SigningKey): { name: string; publicKey: KeyObject; hash: Buffer } {
  return { name: SIGNER_NAME, publicKey: key.publicKey, hash: keyHash(SIGNER_NAME, rawPublic(key.publicKey)) }
}
