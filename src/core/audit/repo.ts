import type { Queryable, TransactionSql } from '../db/connect.js'
import type { AuditKeyring } from './audit-keys.js'
import { GENESIS } from './verify-chain.js'

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
  /** `lockout clear`: one row per address lifted (target: the IP). */
  | 'ip.lockout_cleared'
  | 'anomaly.detect'
  | 'anomaly.acknowledge'
  | 'anomaly.resolve'
  | 'gitea.token.create'
  | 'gitea.token.delete'
  | 'gitea.token.rotate'
  | 'n8n.key.create'
  | 'n8n.key.delete'
  | 'n8n.key.rotate'
  | 'audit.rotate_key'
  | 'audit.reseal'

export interface AuditEntry {
  keyId: string | null
  action: AuditAction
  actor: string
  ip?: string | null
  /** What the row is about when it is not the key (a token id, an IP); default the key id, else the IP. */
  target?: string | null
  /** Never a secret: callers pass ids, names, reasons and timestamps only. Encrypted at rest. */
  details: Record<string, unknown>
  at: Date
}

/**
 * Append one audit row to the chain. Call it inside the transaction of the change it
 * records, after the change's own locks: it takes the chain head's row lock (held to the
 * commit, so appends serialise and a rolled-back change leaves no gap) unless
 * `reserveAuditSeq` took it earlier in this transaction, encrypts the details with
 * the row's sequence number as associated data, and the insert trigger links and hashes it.
 */
export async function appendAudit(ctx: { audit: AuditKeyring }, tx: TransactionSql, entry: AuditEntry): Promise<string> {
  const target = entry.target ?? entry.keyId ?? entry.ip ?? null
  const reserved = ctx.audit.reservations.get(tx)
  ctx.audit.reservations.delete(tx)
  const seq = await (reserved ?? nextSeq(tx))
  const sealed = await ctx.audit.seal(seq, entry.action, target, entry.details)
  await tx`
    insert into api_key_audit_log (seq, created_at, actor, action, target, key_id, ip_address, audit_key_id, nonce, ciphertext)
    values (${seq}, ${entry.at}, ${entry.actor}, ${entry.action}, ${target}, ${entry.keyId}, ${entry.ip ?? null},
            ${sealed.keyId}, ${sealed.nonce}, ${sealed.ciphertext})`
  return seq
}

const nextSeq = async (tx: TransactionSql) => (await tx<Array<{ seq: string }>>`update audit_chain_head set seq = seq + 1 returning seq::text`)[0]!.seq

/**
 * Reserve the next sequence number now, pipelined behind the statement just sent (the key's
 * row lock): the next `appendAudit` in this transaction uses it, saving a round trip. Send it
 * after the change's own locks, so the head is always locked last.
 */
export function reserveAuditSeq(ctx: { audit: AuditKeyring }, tx: TransactionSql): void {
  const seq = nextSeq(tx)
  seq.catch(() => {}) // a transaction that fails before its append never awaits it
  ctx.audit.reservations.set(tx, seq)
}

/** A stored row, details still sealed (or plaintext, for rows from before the chain). */
export interface StoredAuditRow {
  seq: string
  createdAt: Date
  actor: string
  action: string
  target: string | null
  keyId: string | null
  ipAddress: string | null
  auditKeyId: string | null
  nonce: Buffer | null
  ciphertext: Buffer | null
  legacyDetails: string | null
}

export interface AuditFilter {
  keyId?: string
  action?: string
  actor?: string
  since?: Date
  /** Rows after this sequence number (the cursor of the previous page). */
  afterSeq?: string
  limit: number
}

/**
 * One audit row as selected with `seq, created_at, actor, action, target, key_id,
 * host(ip_address) as ip, audit_key_id, nonce, ciphertext, legacy_details` (details still sealed).
 */
export function storedAuditRow(r: Record<string, any>): StoredAuditRow {
  return {
    seq: String(r.seq),
    createdAt: r.created_at,
    actor: r.actor,
    action: r.action,
    target: r.target,
    keyId: r.key_id,
    ipAddress: r.ip,
    auditKeyId: r.audit_key_id,
    nonce: r.nonce,
    ciphertext: r.ciphertext,
    legacyDetails: r.legacy_details,
  }
}

export async function findAuditRows(q: Queryable, f: AuditFilter): Promise<StoredAuditRow[]> {
  const rows = await q`
    select seq, created_at, actor, action, target, key_id, host(ip_address) as ip, audit_key_id, nonce, ciphertext, legacy_details
    from api_key_audit_log
    where true
      ${f.keyId ? q`and key_id = ${f.keyId}` : q``}
      ${f.action ? (f.action.endsWith('.*') ? q`and action like ${`${f.action.slice(0, -1)}%`}` : q`and action = ${f.action}`) : q``}
      ${f.actor ? q`and actor = ${f.actor}` : q``}
      ${f.since ? q`and created_at >= ${f.since}` : q``}
      ${f.afterSeq ? q`and seq > ${f.afterSeq}` : q``}
    order by seq
    limit ${f.limit}`
  return rows.map(storedAuditRow)
}

export async function chainHead(q: Queryable): Promise<{ seq: string; hash: Buffer }> {
  const [head] = await q<Array<{ seq: string; hash: Buffer | null }>>`
    select h.seq::text, l.hash from audit_chain_head h left join api_key_audit_log l on l.seq = h.seq`
  return { seq: head!.seq, hash: head!.hash ?? GENESIS }
}

export async function instanceId(q: Queryable): Promise<string> {
  const [row] = await q<Array<{ id: string }>>`select id::text from momentry_instance`
  return row!.id
}

export async function insertCheckpoint(q: Queryable, c: { seq: string; hash: Buffer; note: string; at: Date }): Promise<void> {
  await q`insert into audit_checkpoints (seq, hash, note, created_at) values (${c.seq}, ${c.hash}, ${c.note}, ${c.at})`
}

export async function lastCheckpoint(q: Queryable): Promise<{ seq: string; createdAt: Date } | undefined> {
  const [row] = await q<Array<{ seq: string; created_at: Date }>>`select seq::text, created_at from audit_checkpoints order by id desc limit 1`
  return row ? { seq: row.seq, createdAt: row.created_at } : undefined
}
