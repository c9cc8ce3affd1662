import type { Queryable } from '../db/connect.js'

/** A tracked n8n API key (a live n8n_api_keys row). The secret is never stored. */
export interface N8nKeyRecord {
  keyId: string
  label: string
  scopes: string[]
  last4: string
  expiresAt: Date | null
  createdAt: Date
  createdBy: string
  /** The n8n user the key belongs to: null for rows made before momentry recorded it. */
  ownerId: string | null
  ownerEmail: string | null
}

export interface NewN8nKeyRecord extends N8nKeyRecord {
  url: string
}

// The one column list every read returns, in the shape toRecord() expects.
const COLUMNS = 'n8n_key_id, label, scopes, last4, expires_at, created_at, created_by, n8n_user_id, n8n_user'
const columns = (q: Queryable) => q.unsafe(COLUMNS)

interface Row {
  n8n_key_id: string
  label: string
  scopes: string[]
  last4: string
  expires_at: Date | null
  created_at: Date
  created_by: string
  n8n_user_id: string | null
  n8n_user: string | null
}

const toRecord = (r: Row): N8nKeyRecord => ({
  keyId: r.n8n_key_id,
  label: r.label,
  scopes: r.scopes,
  last4: r.last4,
  expiresAt: r.expires_at,
  createdAt: r.created_at,
  createdBy: r.created_by,
  ownerId: r.n8n_user_id,
  ownerEmail: r.n8n_user,
})

/** The live record of a key at one n8n, by n8n's id. */
export async function findTrackedN8nKey(q: Queryable, url: string, keyId: string): Promise<N8nKeyRecord | undefined> {
  const [row] = await q<Row[]>`select ${columns(q)} from n8n_api_keys where n8n_url = ${url} and n8n_key_id = ${keyId} and deleted_at is null`
  return row && toRecord(row)
}

/** Every live record at one n8n, whoever owns it, newest first. */
export async function listTrackedN8nKeys(q: Queryable, url: string): Promise<N8nKeyRecord[]> {
  const rows = await q<Row[]>`select ${columns(q)} from n8n_api_keys where n8n_url = ${url} and deleted_at is null order by created_at desc, id desc`
  return rows.map(toRecord)
}

/** Insert a new record (inside the transaction that also writes its audit row). */
export async function insertN8nKey(q: Queryable, k: NewN8nKeyRecord): Promise<N8nKeyRecord> {
  const [row] = await q<Row[]>`
    insert into n8n_api_keys (n8n_url, n8n_key_id, label, scopes, last4, expires_at, created_at, created_by, n8n_user_id, n8n_user)
    values (${k.url}, ${k.keyId}, ${k.label}, ${k.scopes}::text[], ${k.last4}, ${k.expiresAt}, ${k.createdAt}, ${k.createdBy}, ${k.ownerId}, ${k.ownerEmail})
    returning ${columns(q)}`
  return toRecord(row!)
}

/**
 * Record these live keys as the given user's (n8n listed them for that login). A user id
 * already recorded is kept when the login answer had none.
 */
export async function setN8nKeyOwner(q: Queryable, url: string, keyIds: string[], owner: { email: string; id: string | null }): Promise<void> {
  if (keyIds.length === 0) return
  await q`update n8n_api_keys set n8n_user = ${owner.email}, n8n_user_id = coalesce(${owner.id}, n8n_user_id)
          where n8n_url = ${url} and deleted_at is null and n8n_key_id in ${q(keyIds)}`
}

/** Stop tracking a key; false when it was not tracked (or already deleted). */
export async function markN8nKeyDeleted(q: Queryable, url: string, keyId: string, at: Date): Promise<boolean> {
  const rows = await q`update n8n_api_keys set deleted_at = ${at} where n8n_url = ${url} and n8n_key_id = ${keyId} and deleted_at is null returning id`
  return rows.length > 0
}
