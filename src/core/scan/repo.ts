import type { KeyType } from '../api-keys/key-types.js'
import type { Queryable } from '../db/connect.js'

/** What a leak report needs of a key found by its hash. */
export interface LeakedKeyRecord {
  keyHash: Buffer
  keyId: string
  name: string
  type: KeyType
  enabled: boolean
  expiresAt: Date | null
  graceExpiresAt: Date | null
  revokedAt: Date | null
  replacedBy: string | null
}

/** The keys among `hashes` (SHA-256 of raw keys), by the unique hash index, in one round trip. */
export async function findKeysByHashes(q: Queryable, hashes: readonly Buffer[]): Promise<LeakedKeyRecord[]> {
  if (hashes.length === 0) return []
  const rows = await q`
    select key_hash, key_id, name, key_type, enabled, expires_at, grace_expires_at, revoked_at, replaced_by
    from api_keys
    where key_hash = any(array(select decode(h, 'hex') from unnest(${hashes.map((h) => h.toString('hex'))}::text[]) h))`
  return rows.map((r) => ({
    keyHash: r.key_hash,
    keyId: r.key_id,
    name: r.name,
    type: r.key_type,
    enabled: r.enabled,
    expiresAt: r.expires_at,
    graceExpiresAt: r.grace_expires_at,
    revokedAt: r.revoked_at,
    replacedBy: r.replaced_by,
  }))
}
