import type { CoreContext } from '../context.js'
import type { CredentialStore, SecretSource } from '../credentials/credential-store.js'
import type { TransactionSql } from '../db/connect.js'
import { ConflictError } from '../errors.js'
import { hashKey, parseRawKey } from './key-format.js'
import type { KeyRecord } from './repo.js'
import { findKeyByHash } from './repo.js'
import { dueKeyIds, rotateKey } from './rotate-key.js'
import { keyStatus } from './status.js'

/** The credential-store account a key's secret is kept under by `rotate --due --to-keychain`. */
export const apiKeyAccount = (name: string) => `api-key/${name}`

type SecretStore = Pick<CredentialStore, 'getSecret' | 'setSecret' | 'deleteSecret'>

/** A scheduled rotation whose new secret went into the credential store: where, never what. */
export interface StoredRotation {
  id: string
  name: string
  previousId: string
  /** Until when the old key keeps validating (null: revoked at once). */
  previousGraceExpiresAt: string | null
  account: string
  store: SecretSource
  /** The 0600 fallback file, when that is where it went. */
  file?: string
}

export interface StoredDueRotation {
  rotated: StoredRotation[]
  failed: { id: string; error: string }[]
}

/**
 * `rotate --due`, with each new secret stored under `api-key/<key name>` instead of
 * returned. The secret is stored inside the rotation's transaction, so a store that fails
 * leaves the key unrotated; if the commit fails after the store, the entry is put back.
 * An entry holding the secret of a different key that still works (two keys of one name)
 * is not overwritten: that key's rotation fails with a conflict and the others go on.
 */
export async function rotateDueKeysToStore(ctx: CoreContext, store: SecretStore, options: { limit?: number } = {}): Promise<StoredDueRotation> {
  const out: StoredDueRotation = { rotated: [], failed: [] }
  for (const id of await dueKeyIds(ctx, options.limit)) {
    let undo: (() => Promise<unknown>) | undefined
    let saved: { account: string; store: SecretSource; file?: string } | undefined
    try {
      const r = await rotateKey(ctx, { id, reason: 'scheduled rotation' }, {
        beforeCommit: async (tx, { secret, key, previous, now }) => {
          const account = apiKeyAccount(key.name)
          const prior = await store.getSecret(account)
          if (prior) await refuseOtherKeysSecret(tx, prior.value, previous, account, now)
          const result = await store.setSecret(account, secret)
          undo = () => (prior ? store.setSecret(account, prior.value) : store.deleteSecret(account))
          saved = { account, store: result.store, ...(result.file ? { file: result.file } : {}) }
        },
      })
      out.rotated.push({ id: r.key.id, name: r.key.name, previousId: r.previous.id, previousGraceExpiresAt: r.previous.graceExpiresAt, ...saved! })
    } catch (error) {
      if (undo) await undo().catch(() => {})
      out.failed.push({ id, error: (error as Error).message })
    }
  }
  return out
}

/** Refuse to overwrite an entry that holds the working secret of a key other than the one rotating. */
async function refuseOtherKeysSecret(tx: TransactionSql, stored: string, rotating: KeyRecord, account: string, now: Date): Promise<void> {
  if (!parseRawKey(stored)) return
  const found = await findKeyByHash(tx, hashKey(stored), now)
  if (!found || found.record.keyId === rotating.keyId) return
  const status = keyStatus(found.record, now)
  if (status === 'revoked' || status === 'expired') return
  throw new ConflictError(
    `${account} already holds the secret of ${found.record.keyId}, another key named "${rotating.name}"`,
    `Rename one of the keys, or rotate ${rotating.keyId} without --to-keychain`,
  )
}
