import * as z from 'zod'

import { reasonSchema } from '../api-keys/key-types.js'
import { appendAudit } from '../audit/repo.js'
import type { CoreContext } from '../context.js'
import { printable } from '../printable.js'
import { ConflictError, NotFoundError, UsageError } from '../errors.js'
import { parseInput } from '../validate-input.js'
import type { AnomalyView } from './anomaly-view.js'
import { findAnomaly, markHandled, toAnomalyView } from './repo.js'

const ANOMALY_ID = /^anm_[0-9A-Za-z]{16}$/

function assertAnomalyId(id: string): void {
  if (!ANOMALY_ID.test(id)) {
    throw new UsageError(`"${printable(id)}" is not an anomaly id`, 'Anomaly ids look like anm_ followed by 16 letters or digits; `momentry anomaly list` shows them')
  }
}

export interface AnomalyDetails extends AnomalyView {
  details: Record<string, unknown>
  acknowledgedAt: string | null
  acknowledgedBy: string | null
  resolvedAt: string | null
  resolvedBy: string | null
  resolutionNote: string | null
}

function toDetails(r: Record<string, any>): AnomalyDetails {
  return {
    ...toAnomalyView(r),
    details: r.details,
    acknowledgedAt: r.acknowledged_at?.toISOString() ?? null,
    acknowledgedBy: r.acknowledged_by,
    resolvedAt: r.resolved_at?.toISOString() ?? null,
    resolvedBy: r.resolved_by,
    resolutionNote: r.resolution_note,
  }
}

export async function showAnomaly(ctx: CoreContext, id: string): Promise<AnomalyDetails> {
  assertAnomalyId(id)
  const row = await findAnomaly(ctx.sql, id)
  if (!row) throw new NotFoundError(`no anomaly with id ${id}`, 'Run `momentry anomaly list` to see anomaly ids')
  return toDetails(row)
}

/** Mark an open anomaly as seen by a person; repeats still bump it until it is resolved. */
export async function acknowledgeAnomaly(ctx: CoreContext, id: string): Promise<AnomalyDetails> {
  return changeAnomaly(ctx, id, 'acknowledge', null)
}

const resolveInput = z.object({ note: reasonSchema.optional() }).strict()

/** Close an anomaly; a later detection of the same kind opens a new one. */
export async function resolveAnomaly(ctx: CoreContext, id: string, input: z.input<typeof resolveInput> = {}): Promise<AnomalyDetails> {
  const i = parseInput(resolveInput, input)
  return changeAnomaly(ctx, id, 'resolve', i.note ?? null)
}

async function changeAnomaly(ctx: CoreContext, id: string, change: 'acknowledge' | 'resolve', note: string | null): Promise<AnomalyDetails> {
  assertAnomalyId(id)
  const now = ctx.clock.now()
  const row = await ctx.sql.begin(async (tx) => {
    const current = await findAnomaly(tx, id, { forUpdate: true })
    if (!current) throw new NotFoundError(`no anomaly with id ${id}`, 'Run `momentry anomaly list` to see anomaly ids')
    if (current.status === 'resolved') throw new ConflictError(`anomaly ${id} is already resolved`)
    if (change === 'acknowledge' && current.status === 'acknowledged') throw new ConflictError(`anomaly ${id} is already acknowledged`)
    const updated = await markHandled(tx, id, change, ctx.actor, now, note)
    await appendAudit(ctx, tx, { keyId: current.key_id, action: `anomaly.${change}`, actor: ctx.actor, at: now, details: { anomalyId: id, note } })
    return updated
  })
  return toDetails(row)
}
