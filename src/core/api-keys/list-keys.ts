import * as z from 'zod'

import { openAuditRow } from '../audit/list-audit.js'
import { findAuditRows } from '../audit/repo.js'
import type { CoreContext } from '../context.js'
import { InputError, parseInput } from '../validate-input.js'
import { assertKeyId, keyNotFound } from './key-id.js'
import { filterTextSchema, KEY_STATUSES, KEY_TYPES } from './key-types.js'
import type { KeyView } from './key-view.js'
import { toKeyView } from './key-view.js'
import { findKey, listKeys as listKeyRows } from './repo.js'

export const listKeysInputSchema = z
  .object({
    type: z.enum(KEY_TYPES).optional(),
    status: z.enum(KEY_STATUSES).optional(),
    owner: filterTextSchema(200).optional(),
    limit: z.number().int().min(1, 'must be at least 1').max(1000, 'must be at most 1000').default(50),
    cursor: z.string().max(200).optional(),
  })
  .strict()

export type ListKeysInput = z.input<typeof listKeysInputSchema>

export interface KeyPage {
  items: KeyView[]
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null
}

const CURSOR_PREFIX = 'c1.'

function encodeCursor(seq: string): string {
  return CURSOR_PREFIX + Buffer.from(seq).toString('base64url')
}

function decodeCursor(cursor: string): string {
  const seq = cursor.startsWith(CURSOR_PREFIX) ? Buffer.from(cursor.slice(CURSOR_PREFIX.length), 'base64url').toString() : ''
  if (!/^[1-9]\d{0,18}$/.test(seq) || BigInt(seq) > 9_223_372_036_854_775_807n) {
    throw new InputError(['cursor'], 'is not the nextCursor of a previous page', { hint: 'Copy nextCursor from the previous page, or leave it out' })
  }
  return seq
}

/** One page of keys, newest first, by keyset pagination (fast at any table size). */
export async function listKeys(ctx: CoreContext, input: ListKeysInput = {}): Promise<KeyPage> {
  const i = parseInput(listKeysInputSchema, input)
  const now = ctx.clock.now()
  const rows = await listKeyRows(ctx.sql, {
    type: i.type,
    status: i.status,
    owner: i.owner,
    beforeSeq: i.cursor ? decodeCursor(i.cursor) : undefined,
    limit: i.limit + 1,
    now,
  })
  const page = rows.slice(0, i.limit)
  const more = rows.length > i.limit
  return { items: page.map((r) => toKeyView(r, now)), nextCursor: more ? encodeCursor(page.at(-1)!.seq) : null }
}

export interface KeyDetails {
  key: KeyView
  /** Oldest first; `details` is null (with `unreadable` saying why) when the audit key that opens them is not here. */
  history: { seq: number; at: string; action: string; actor: string; details: Record<string, unknown> | null; unreadable?: string }[]
}

/** One key with its audit history. */
export async function showKey(ctx: CoreContext, id: string): Promise<KeyDetails> {
  assertKeyId(id)
  const record = await findKey(ctx.sql, id)
  if (!record) throw keyNotFound(id)
  const rows = await findAuditRows(ctx.sql, { keyId: id, limit: 1000 })
  const history = []
  for (const r of rows) {
    const e = await openAuditRow(ctx.audit, r, 'omit')
    history.push({ seq: e.seq, at: e.at, action: e.action, actor: e.actor, details: e.details, ...(e.unreadable ? { unreadable: e.unreadable } : {}) })
  }
  return { key: toKeyView(record, ctx.clock.now()), history }
}
