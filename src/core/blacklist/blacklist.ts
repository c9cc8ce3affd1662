import * as z from 'zod'

import { appendAudit } from '../audit/repo.js'
import type { CoreContext } from '../context.js'
import { MAX_DURATION_SECONDS } from '../duration.js'
import { ConflictError, NotFoundError } from '../errors.js'
import { parseInput } from '../validate-input.js'
import { parseNetwork } from './ip.js'
import type { BlacklistRecord } from './repo.js'
import { allEntries, canonicalNetwork, deleteEntry, insertEntry, lockEntry, updateEntry } from './repo.js'

export interface BlacklistEntry {
  id: string
  network: string
  reason: string | null
  createdAt: string
  createdBy: string
  expiresAt: string | null
  active: boolean
}

const toEntry = (r: BlacklistRecord, now: Date): BlacklistEntry => ({
  id: r.id,
  network: r.network,
  reason: r.reason,
  createdAt: r.createdAt.toISOString(),
  createdBy: r.createdBy,
  expiresAt: r.expiresAt?.toISOString() ?? null,
  active: !r.expiresAt || r.expiresAt > now,
})

const addInputSchema = z
  .object({
    target: z.string().max(64),
    reason: z.string().trim().min(1).max(500).optional(),
    expiresInSeconds: z.number().int().positive().max(MAX_DURATION_SECONDS).optional(),
    /** Clear the expiry of an existing entry (a new one is permanent unless given an expiry). */
    permanent: z.boolean().optional(),
  })
  .strict()
  .refine((i) => !(i.permanent && i.expiresInSeconds), { message: 'give an expiry or permanent, not both' })

/** A field an `add` of a listed network changed, with what it was and is now. */
export interface BlacklistChange {
  field: 'reason' | 'expiresAt'
  from: string | null
  to: string | null
}

export interface BlacklistAddResult {
  entry: BlacklistEntry
  /** false: the network was listed already and `changes` says what this add changed in it. */
  created: boolean
  changes: BlacklistChange[]
  /** What was asked for, as given (`198.51.100.5/24`). */
  typed: string
  /** The address had host bits set; they were cleared, so the whole range `entry.network` is blocked. */
  hostBitsDropped: boolean
}

/**
 * Block an address or CIDR range: every validation from inside it is refused with
 * BLACKLISTED, checked before anything else. Adding a listed range changes only what is
 * given (reason, expiry, or `permanent` to clear the expiry) and keeps the rest; the result
 * says what changed, and whether host bits of the address were dropped.
 */
export async function addToBlacklist(ctx: CoreContext, input: z.input<typeof addInputSchema>): Promise<BlacklistAddResult> {
  const i = parseInput(addInputSchema, input)
  const network = parseNetwork(i.target)
  const now = ctx.clock.now()
  const expiresAt = i.expiresInSeconds ? new Date(now.getTime() + i.expiresInSeconds * 1000) : null
  const { record, created, changes, hostBits } = await ctx.sql.begin(async (tx) => {
    const { hostBits } = await canonicalNetwork(tx, network.cidr)
    const inserted = await insertEntry(tx, { cidr: network.cidr, reason: i.reason ?? null, createdAt: now, createdBy: ctx.actor, expiresAt })
    // Listed already (or just now by someone else: the insert waited for them): lock it and change only what was given.
    const before = inserted ? undefined : await lockEntry(tx, network.cidr)
    if (!inserted && !before) throw new ConflictError(`${network.cidr} was removed while being added`, 'Run the command again')
    const next = before && {
      reason: i.reason ?? before.reason,
      expiresAt: i.permanent ? null : i.expiresInSeconds ? expiresAt : before.expiresAt,
    }
    const changes: BlacklistChange[] = []
    if (before && next!.reason !== before.reason) changes.push({ field: 'reason', from: before.reason, to: next!.reason })
    if (before && next!.expiresAt?.getTime() !== before.expiresAt?.getTime()) {
      changes.push({ field: 'expiresAt', from: before.expiresAt?.toISOString() ?? null, to: next!.expiresAt?.toISOString() ?? null })
    }
    const r = inserted ?? (changes.length ? await updateEntry(tx, before!.id, next!) : before!)
    await appendAudit(ctx, tx, {
      keyId: null,
      action: 'blacklist.add',
      actor: ctx.actor,
      ip: r.network,
      at: now,
      details: { network: r.network, reason: r.reason, expiresAt: r.expiresAt?.toISOString() ?? null, updated: !inserted, changed: changes.map((c) => c.field) },
    })
    return { record: r, created: Boolean(inserted), changes, hostBits }
  })
  ctx.bus.emit({ type: 'blacklist.changed', network: record.network, change: 'added', at: now.toISOString() })
  return { entry: toEntry(record, now), created, changes, typed: i.target.trim(), hostBitsDropped: hostBits }
}

export async function removeFromBlacklist(ctx: CoreContext, target: string): Promise<BlacklistEntry> {
  const network = parseNetwork(target)
  const now = ctx.clock.now()
  const record = await ctx.sql.begin(async (tx) => {
    const r = await deleteEntry(tx, network.cidr)
    if (!r) throw new NotFoundError(`${network.cidr} is not on the blacklist`, 'Run `momentry blacklist list` to see the entries')
    await appendAudit(ctx, tx, { keyId: null, action: 'blacklist.remove', actor: ctx.actor, ip: r.network, at: now, details: { network: r.network } })
    return r
  })
  ctx.bus.emit({ type: 'blacklist.changed', network: record.network, change: 'removed', at: now.toISOString() })
  return toEntry(record, now)
}

export async function listBlacklist(ctx: CoreContext): Promise<BlacklistEntry[]> {
  const now = ctx.clock.now()
  return (await allEntries(ctx.sql)).map((r) => toEntry(r, now))
}
