import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'

import * as z from 'zod'

import type { SecretStore } from '../credentials/secret-store.js'
import { ConfigError, ExitCode, MomentryError } from '../errors.js'
import type { Logger } from '../log.js'

/** The credential-store account holding the audit keys ({ current, keys }). */
export const AUDIT_KEYS_ACCOUNT = 'audit-keys'

const storedSchema = z.object({
  current: z.string(),
  keys: z.record(z.string(), z.string().refine((v) => Buffer.from(v, 'base64').length === 32)),
})
type Stored = z.infer<typeof storedSchema>

/** `ak_` + the first 12 hex digits of the key's SHA-256: names a key without revealing it. */
export function auditKeyId(key: Buffer): string {
  return `ak_${createHash('sha256').update(key).digest('hex').slice(0, 12)}`
}

/** The associated data of a row's details: they cannot be moved to another row or action. */
function aad(seq: string, action: string, target: string | null): Buffer {
  return Buffer.from(`${seq}\n${action}\n${target ?? ''}`, 'utf8')
}

/** The associated data of a sealed secret: who it belongs to, in a namespace no audit row's can take. */
function secretAad(owner: string): Buffer {
  return Buffer.from(`momentry-secret\n${owner}`, 'utf8')
}

export interface Sealed {
  keyId: string
  nonce: Buffer
  /** AES-256-GCM ciphertext followed by its 16-byte tag. */
  ciphertext: Buffer
}

export class AuditKeyError extends MomentryError {
  constructor(message: string, hint: string) {
    super(message, { code: 'AUDIT_KEY', exitCode: ExitCode.CONFIG, httpStatus: 503, hint })
  }
}

/**
 * The audit keys of one context: MOMENTRY_AUDIT_KEY (base64; a comma-separated list keeps
 * older keys readable, the first encrypts) or, without it, the credential store's
 * `audit-keys` entry, generated on first use. Loaded once per context, on first use.
 */
export class AuditKeyring {
  /** Sequence numbers reserved early in a transaction (see `reserveAuditSeq`), by transaction. */
  readonly reservations = new WeakMap<object, Promise<string>>()
  private loaded?: Promise<{ current: string; keys: Map<string, Buffer>; source: 'env' | 'store' }>

  constructor(private readonly options: { envKeys?: string; secrets: SecretStore; log: Logger }) {}

  /** Encrypt `details` for row `seq` under the current key. */
  async seal(seq: string, action: string, target: string | null, details: Record<string, unknown>): Promise<Sealed> {
    return this.encrypt(aad(seq, action, target), JSON.stringify(details))
  }

  /** Decrypt a row's details; a key that is absent or wrong (or a row altered) is one clear error naming the key id. */
  async open(seq: string, action: string, target: string | null, sealed: Sealed): Promise<Record<string, unknown>> {
    const text = await this.decrypt(aad(seq, action, target), sealed, {
      missing: `audit row ${seq} is encrypted under audit key ${sealed.keyId}, which is not available here`,
      wrong: `audit row ${seq} does not decrypt under audit key ${sealed.keyId}: the key is not the one it was written with, or the row was altered`,
      wrongHint: 'Check MOMENTRY_AUDIT_KEY; `momentry audit verify` tells whether the row was altered',
    })
    return JSON.parse(text) as Record<string, unknown>
  }

  /**
   * Seal one of momentry's own secrets that it must keep to use (a webhook's signing secret)
   * under the current audit key. `owner` (e.g. `webhook/whk_…`) is the associated data: the
   * ciphertext opens only for the row it was written for, never for another.
   */
  async sealSecret(owner: string, secret: string): Promise<Sealed> {
    return this.encrypt(secretAad(owner), secret)
  }

  /** Open a secret sealed by `sealSecret`; `what` names it in the one-line error of a missing or wrong key. */
  async openSecret(owner: string, sealed: Sealed, what: string): Promise<string> {
    return this.decrypt(secretAad(owner), sealed, {
      missing: `${what} is sealed under audit key ${sealed.keyId}, which is not available here`,
      wrong: `${what} does not open under audit key ${sealed.keyId}: the key is not the one it was sealed with, or the row was altered`,
      wrongHint: 'Set MOMENTRY_AUDIT_KEY (or the credential-store entry audit-keys) to the keys it was written with',
    })
  }

  private async encrypt(associated: Buffer, text: string): Promise<Sealed> {
    const { current, keys } = await this.load(true)
    const nonce = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', keys.get(current)!, nonce)
    cipher.setAAD(associated)
    const ciphertext = Buffer.concat([cipher.update(text, 'utf8'), cipher.final(), cipher.getAuthTag()])
    return { keyId: current, nonce, ciphertext }
  }

  private async decrypt(associated: Buffer, sealed: Sealed, say: { missing: string; wrong: string; wrongHint: string }): Promise<string> {
    const { keys, source } = await this.load(false)
    const key = keys.get(sealed.keyId)
    if (!key) {
      throw new AuditKeyError(
        say.missing,
        source === 'env' ? `Add that key to MOMENTRY_AUDIT_KEY (comma-separated, current first)` : `Restore the credential-store entry ${AUDIT_KEYS_ACCOUNT} that holds it, or set MOMENTRY_AUDIT_KEY`,
      )
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, sealed.nonce)
      decipher.setAAD(associated)
      decipher.setAuthTag(sealed.ciphertext.subarray(-16))
      return Buffer.concat([decipher.update(sealed.ciphertext.subarray(0, -16)), decipher.final()]).toString('utf8')
    } catch {
      throw new AuditKeyError(say.wrong, say.wrongHint)
    }
  }

  /** Start a new current key in the credential store; older keys stay readable. */
  async rotate(): Promise<{ previous: string; current: string; store: string }> {
    if (this.options.envKeys) {
      throw new ConfigError(
        'the audit key comes from MOMENTRY_AUDIT_KEY, so momentry cannot rotate it',
        'Put a new key first in MOMENTRY_AUDIT_KEY and keep the old ones after it (comma-separated); `openssl rand -base64 32` makes one',
      )
    }
    const secrets = this.options.secrets
    const result = await secrets.withLock(async () => {
      const stored = await this.readStored()
      const key = randomBytes(32)
      const id = auditKeyId(key)
      const next: Stored = stored ? { current: id, keys: { ...stored.keys, [id]: key.toString('base64') } } : { current: id, keys: { [id]: key.toString('base64') } }
      await secrets.set(AUDIT_KEYS_ACCOUNT, JSON.stringify(next))
      return { previous: stored?.current ?? id, current: id }
    })
    this.loaded = undefined
    return { ...result, store: await secrets.describe() }
  }

  private async readStored(): Promise<Stored | undefined> {
    const raw = await this.options.secrets.get(AUDIT_KEYS_ACCOUNT)
    if (raw === undefined) return undefined
    let json: unknown
    try {
      json = JSON.parse(raw)
    } catch {
      json = undefined
    }
    const parsed = storedSchema.safeParse(json)
    if (!parsed.success || !parsed.data.keys[parsed.data.current]) {
      throw new ConfigError(`the credential-store entry ${AUDIT_KEYS_ACCOUNT} is not a momentry audit key set`, 'Restore it from a backup, or set MOMENTRY_AUDIT_KEY')
    }
    return parsed.data
  }

  private load(create: boolean): Promise<{ current: string; keys: Map<string, Buffer>; source: 'env' | 'store' }> {
    const attempt = (this.loaded ??= (async () => {
      if (this.options.envKeys) {
        const keys = this.options.envKeys.split(',').map((k) => Buffer.from(k.trim(), 'base64'))
        return { current: auditKeyId(keys[0]!), keys: new Map(keys.map((k) => [auditKeyId(k), k])), source: 'env' as const }
      }
      let stored = await this.readStored()
      if (!stored && !create) throw new AuditKeyError('no audit key exists yet (nothing was ever encrypted here)', 'Set MOMENTRY_AUDIT_KEY to the key the rows were written with')
      if (!stored) {
        const key = randomBytes(32)
        const fresh: Stored = { current: auditKeyId(key), keys: { [auditKeyId(key)]: key.toString('base64') } }
        stored = storedSchema.parse(JSON.parse(await this.options.secrets.create(AUDIT_KEYS_ACCOUNT, JSON.stringify(fresh))))
        if (stored.current === fresh.current) {
          this.options.log.warn(`generated audit key ${fresh.current} and stored it in ${await this.options.secrets.describe()}: back it up, audit details cannot be read without it`)
        }
      }
      const keys = new Map(Object.entries(stored.keys).map(([id, b64]) => [id, Buffer.from(b64, 'base64')]))
      return { current: stored.current, keys, source: 'store' as const }
    })())
    // A failed load is not kept: the next call tries again (the store may be fixed meanwhile).
    attempt.catch(() => {
      if (this.loaded === attempt) this.loaded = undefined
    })
    return attempt
  }
}
