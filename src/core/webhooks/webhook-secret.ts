import type { AuditKeyring } from '../audit/audit-keys.js'
import type { CoreContext } from '../context.js'
import type { StoredSecret } from './repo.js'
import { selectPlainSecrets, storeSealedSecret } from './repo.js'

/** What sealing and opening webhook secrets needs of a context. */
export type SecretDeps = Pick<CoreContext, 'sql' | 'audit' | 'log'>

/** The associated data a webhook's sealed secret is bound to: it opens for that webhook only. */
const ownerOf = (webhookId: string) => `webhook/${webhookId}`

/** Seal a new webhook's signing secret under the current audit key (sql/0013). */
export function sealWebhookSecret(keyring: AuditKeyring, webhookId: string, secret: string) {
  return keyring.sealSecret(ownerOf(webhookId), secret)
}

/** Seal one clear secret where it is stored; false when another process sealed it first. */
async function sealStored(deps: SecretDeps, webhookId: string, plain: string): Promise<boolean> {
  return storeSealedSecret(deps.sql, webhookId, plain, await sealWebhookSecret(deps.audit, webhookId, plain))
}

/**
 * The secret to sign a delivery with, opened only here, by the delivery path, and only for the
 * moment of signing. A missing or wrong audit key is one clear AuditKeyError (exit 8) naming the
 * webhook and the key id. A secret still in the clear (a row from before sql/0013 that `db
 * migrate` has not sealed yet) is used as it is and sealed now; if sealing fails the delivery
 * still goes out, and the failure is said.
 */
export async function openWebhookSecret(deps: SecretDeps, webhookId: string, stored: StoredSecret): Promise<string> {
  if ('sealed' in stored) return deps.audit.openSecret(ownerOf(webhookId), stored.sealed, `the signing secret of webhook ${webhookId}`)
  await sealStored(deps, webhookId, stored.plain).catch((e: Error) => deps.log.warn(`could not seal the signing secret of webhook ${webhookId}: ${e.message}`))
  return stored.plain
}

/** Seal every webhook secret still stored in the clear (`db migrate`, `db import`); returns how many this call sealed. */
export async function sealPlainWebhookSecrets(deps: SecretDeps): Promise<number> {
  let sealed = 0
  for (const row of await selectPlainSecrets(deps.sql)) if (await sealStored(deps, row.webhookId, row.secret)) sealed++
  return sealed
}
