import type { Queryable } from '../db/connect.js'

export type AuditAction =
  | 'key.create'
  | 'key.rotate'
  | 'key.revoke'
  | 'key.disable'
  | 'key.enable'
  /** `api-key cleanup`: one row per purge (key id null), listing the key and anomaly ids it removed. */
  | 'key.cleanup'
  | 'blacklist.add'
  | 'blacklist.remove'
  | 'ip.lockout'
  | 'anomaly.detect'
  | 'anomaly.acknowledge'
  | 'anomaly.resolve'
  | 'gitea.token.create'
  | 'gitea.token.delete'
  | 'gitea.token.rotate'
  | 'n8n.key.create'
  | 'n8n.key.delete'
  | 'n8n.key.rotate'

export interface AuditEntry {
  keyId: string | null
  action: AuditAction
  actor: string
  ip?: string | null
  /** Never a secret: callers pass ids, names, reasons and timestamps only. */
  details: Record<string, unknown>
  at: Date
}

/** Append one audit row. Call it inside the transaction of the change it records. */
export async function appendAudit(tx: Queryable, entry: AuditEntry): Promise<void> {
  await tx`
    insert into api_key_audit_log (key_id, action, actor, ip_address, details, created_at)
    values (${entry.keyId}, ${entry.action}, ${entry.actor}, ${entry.ip ?? null}, ${tx.json(entry.details as never)}, ${entry.at})`
}

export interface AuditRow {
  id: string
  keyId: string | null
  action: string
  actor: string
  ipAddress: string | null
  details: Record<string, unknown>
  createdAt: Date
}

export async function auditForKey(q: Queryable, keyId: string): Promise<AuditRow[]> {
  const rows = await q`
    select id, key_id, action, actor, ip_address, details, created_at
    from api_key_audit_log where key_id = ${keyId} order by id`
  return rows.map((r) => ({
    id: String(r.id),
    keyId: r.key_id,
    action: r.action,
    actor: r.actor,
    ipAddress: r.ip_address,
    details: r.details,
    createdAt: r.created_at,
  }))
}
