import * as z from 'zod'

import { appendAudit } from '../audit/repo.js'
import type { CoreContext } from '../context.js'
import { MAX_DURATION_SECONDS } from '../duration.js'
import { NotFoundError } from '../errors.js'
import { parseInput } from '../validate-input.js'
import { parseNetwork } from './ip.js'
import type { BlacklistRecord } from './repo.js'
import { allEntries, deleteEntry, upsertEntry } from './repo.js'

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
  })
  .strict()

/**
 * Block an address or CIDR range: every validation from inside it is refused with
 * BLACKLISTED, checked before anything else. Adding an existing range updates it.
 */
export async function addToBlacklist(ctx: CoreContext, input: z.input<typeof addInputSchema>): Promise<BlacklistEntry & { created: boolean }> {
  const i = parseInput(addInputSchema, input)
  const network = parseNetwork(i.target)
  const now = ctx.clock.now()
  const expiresAt = i.expiresInSeconds ? new Date(now.getTime() + i.expiresInSeconds * 1000) : null
  const record = await ctx.sql.begin(async (tx) => {
    const r = await upsertEntry(tx, { cidr: network.cidr, reason: i.reason ?? null, createdAt: now, createdBy: ctx.actor, expiresAt })
    await appendAudit(ctx, tx, {
      keyId: null,
      action: 'blacklist.add',
      actor: ctx.actor,
      ip: r.network,
      at: now,
      details: { network: r.network, reason: r.reason, expiresAt: r.expiresAt?.toISOString() ?? null, updated: !r.created },
    })
    return r
  })
  ctx.bus.emit({ type: 'blacklist.changed', network: record.network, change: 'added', at: now.toISOString() })
  return { ...toEntry(record, now), created: record.created }
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
