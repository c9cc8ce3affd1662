import { hashKey } from '../api-keys/key-format.js'
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

/**
 * The records of raw keys found somewhere, by each raw key (kept in memory only): each
 * distinct key hashed once, all looked up in one `findKeysByHashes`. A key with no record is
 * absent from the map.
 */
export async function findKeysByRaw(q: Queryable, raws: Iterable<string>): Promise<Map<string, LeakedKeyRecord>> {
  const hashes = new Map<string, string>()
  for (const raw of raws) if (!hashes.has(raw)) hashes.set(raw, hashKey(raw).toString('base64'))
  const records = await findKeysByHashes(q, [...new Set(hashes.values())].map((h) => Buffer.from(h, 'base64')))
  const byHash = new Map(records.map((r) => [r.keyHash.toString('base64'), r]))
  const byRaw = new Map<string, LeakedKeyRecord>()
  for (const [raw, hash] of hashes) {
    const record = byHash.get(hash)
    if (record) byRaw.set(raw, record)
  }
  return byRaw
}

/** A Gitea token or n8n API key momentry tracks and that should still work, with the tail listings show. */
export interface TrackedServiceCredential {
  credential: 'gitea' | 'n8n'
  /** The server it lives on (as recorded when it was made). */
  url: string
  /** Gitea's numeric token id (as text) or n8n's key id. */
  id: string
  name: string
  /** The Gitea user, or the n8n user's e-mail when known. */
  user: string | null
  /** Gitea's `token_last_eight`, or the last four characters of the n8n key. */
  suffix: string
}

/**
 * Every live tracked Gitea token and unexpired n8n key, with its tail: what `scan` searches
 * for. Two small reads of tables holding one row per credential momentry made.
 */
export async function listTrackedSuffixes(q: Queryable, now: Date): Promise<TrackedServiceCredential[]> {
  const gitea = await q`
    select gitea_url, gitea_token_id::text as id, token_name, username, token_last_eight
    from gitea_tokens where deleted_at is null and length(token_last_eight) = 8`
  const n8n = await q`
    select n8n_url, n8n_key_id, label, n8n_user, last4
    from n8n_api_keys where deleted_at is null and length(last4) = 4 and (expires_at is null or expires_at > ${now})`
  return [
    ...gitea.map((r): TrackedServiceCredential => ({ credential: 'gitea', url: r.gitea_url, id: r.id, name: r.token_name, user: r.username, suffix: r.token_last_eight })),
    ...n8n.map((r): TrackedServiceCredential => ({ credential: 'n8n', url: r.n8n_url, id: r.n8n_key_id, name: r.label, user: r.n8n_user, suffix: r.last4 })),
  ]
}
