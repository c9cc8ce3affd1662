import type { Queryable } from '../db/connect.js'

/** Every credential record momentry keeps, newest first within each kind (the inventory's rows). */
export async function inventoryRows(q: Queryable) {
  const [keys, gitea, n8n] = await Promise.all([
    q`select key_id, name, key_type, owner, scopes, created_at, created_by, expires_at, last_used_at, enabled, revoked_at, grace_expires_at
      from api_keys order by created_at desc, id desc`,
    q`select gitea_url, gitea_token_id::text as id, username, token_name, scopes, created_at, created_by, deleted_at
      from gitea_tokens order by created_at desc, id desc`,
    q`select n8n_url, n8n_key_id, label, scopes, expires_at, created_at, created_by, deleted_at, n8n_user
      from n8n_api_keys order by created_at desc, id desc`,
  ])
  return { keys, gitea, n8n }
}
