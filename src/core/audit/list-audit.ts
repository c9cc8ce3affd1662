import * as z from 'zod'

import { KEY_ID_PATTERN } from '../api-keys/key-id.js'
import { filterTextSchema } from '../api-keys/key-types.js'
import type { CoreContext } from '../context.js'
import { parseDuration } from '../duration.js'
import { UsageError } from '../errors.js'
import { printable } from '../printable.js'
import { isStorableTime, STORABLE_TIMES } from '../time-text.js'
import { parseInput } from '../validate-input.js'
import type { AuditKeyring } from './audit-keys.js'
import type { StoredAuditRow } from './repo.js'
import { findAuditRows } from './repo.js'

/** One audit row as shown: details decrypted (or the plaintext of a row from before the chain). */
export interface AuditEvent {
  seq: number
  at: string
  actor: string
  action: string
  target: string | null
  keyId: string | null
  ip: string | null
  /** The audit key the details are encrypted under; null for rows from before encryption. */
  auditKeyId: string | null
  details: Record<string, unknown> | null
  /** Why `details` is null when it is: the key that opens them is not here. */
  unreadable?: string
}

export const auditQuerySchema = z.object({
  key: z.string().regex(KEY_ID_PATTERN, 'expected a key id like key_…').optional(),
  action: z.string().regex(/^[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?$/, 'expected an action like key.revoke or key.*').optional(),
  actor: filterTextSchema(200).optional(),
  since: z.string().optional(),
  limit: z.number().int().min(1).max(1000).default(50),
  // A sequence number is a PostgreSQL bigint: 19 digits can still be past its largest value.
  cursor: z
    .string()
    .refine((c) => /^\d{1,19}$/.test(c) && BigInt(c) <= 9_223_372_036_854_775_807n, 'expected the nextCursor of a previous page')
    .optional(),
})
export type AuditQuery = z.input<typeof auditQuerySchema>

/** `--since 7d` (a duration back from now) or an ISO date/time. */
export function parseSince(value: string, now: Date): Date {
  if (/^\d{1,10}[smhdw]$/.test(value)) return new Date(now.getTime() - parseDuration(value, '--since', { example: '7d' }) * 1000)
  const at = new Date(value)
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(at.getTime())) {
    throw new UsageError(`--since "${printable(value)}" is neither a duration nor a date`, 'Give e.g. 7d, 12h or 2026-11-01T00:00:00Z')
  }
  if (!isStorableTime(at)) throw new UsageError(`--since "${printable(value)}" must be a time ${STORABLE_TIMES}`, 'Give e.g. 7d, 12h or 2026-11-01T00:00:00Z')
  return at
}

/** Decrypt one row. `unreadable: 'omit'` reports a missing key on the row instead of throwing. */
export async function openAuditRow(keyring: AuditKeyring, r: StoredAuditRow, unreadable: 'throw' | 'omit'): Promise<AuditEvent> {
  const base = { seq: Number(r.seq), at: r.createdAt.toISOString(), actor: r.actor, action: r.action, target: r.target, keyId: r.keyId, ip: r.ipAddress, auditKeyId: r.auditKeyId }
  if (r.ciphertext && r.nonce && r.auditKeyId) {
    try {
      return { ...base, details: await keyring.open(r.seq, r.action, r.target, { keyId: r.auditKeyId, nonce: r.nonce, ciphertext: r.ciphertext }) }
    } catch (error) {
      if (unreadable === 'throw') throw error
      return { ...base, details: null, unreadable: (error as Error).message }
    }
  }
  return { ...base, details: r.legacyDetails ? (JSON.parse(r.legacyDetails) as Record<string, unknown>) : {} }
}

export interface AuditPage {
  items: AuditEvent[]
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null
}

/** A page of the audit trail, oldest first, decrypted; `nextCursor` continues after it. */
export async function listAudit(ctx: CoreContext, query: AuditQuery): Promise<AuditPage> {
  const q = parseInput(auditQuerySchema, query)
  const rows = await findAuditRows(ctx.sql, {
    keyId: q.key,
    action: q.action,
    actor: q.actor,
    since: q.since ? parseSince(q.since, ctx.clock.now()) : undefined,
    afterSeq: q.cursor,
    limit: q.limit + 1,
  })
  const page = rows.slice(0, q.limit)
  const items = []
  for (const r of page) items.push(await openAuditRow(ctx.audit, r, 'throw'))
  return { items, nextCursor: rows.length > q.limit ? page.at(-1)!.seq : null }
}
