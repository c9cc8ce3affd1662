import * as z from 'zod'

import { appendAudit } from '../audit/repo.js'
import type { CoreContext } from '../context.js'
import type { Queryable } from '../db/connect.js'
import { formatDuration, MAX_DURATION_SECONDS } from '../duration.js'
import { parseInput } from '../validate-input.js'
import type { KeyType } from './key-types.js'
import type { PurgeReason } from './cleanup-repo.js'
import {
  countUsageBefore,
  deleteAnomalies,
  deleteKeys,
  deleteUsageBefore,
  lockCleanup,
  lockKeys,
  selectPurgeableAnomalies,
  selectPurgeableKeys,
} from './cleanup-repo.js'

export const DEFAULT_CLEANUP_AGE_SECONDS = 90 * 86_400

export const cleanupInputSchema = z
  .object({
    /** Keys that stopped validating, and anomalies resolved, longer ago than this go. */
    olderThanSeconds: z.number().int().min(1).max(MAX_DURATION_SECONDS).default(DEFAULT_CLEANUP_AGE_SECONDS),
    /** Report what would go and change nothing. */
    dryRun: z.boolean().default(false),
  })
  .strict()

export type CleanupInput = z.input<typeof cleanupInputSchema>

/** What a cleanup removed (or, with `dryRun`, would remove): the `--json` contract. */
export interface CleanupResult {
  dryRun: boolean
  at: string
  olderThan: string
  /** Keys and anomalies that ended before this go. */
  cutoff: string
  keys: { id: string; name: string; type: KeyType; reason: PurgeReason; endedAt: string }[]
  /** Past the cutoff but kept: a key that stays was rotated to them (see docs/decisions.md). */
  keptAsSuccessor: string[]
  anomalies: { id: string; keyId: string; type: string; status: string; reason: 'resolved' | 'key-purged'; resolvedAt: string | null }[]
  /** `rows`: per-key usage minutes; `failureRows`: failure minutes by code and source (`validation_failure_minute`). */
  usage: { retention: string; cutoff: string; rows: number; failureRows: number }
}

/**
 * Purge what is past retention, in one transaction: keys revoked, expired or rotated away
 * (grace over) more than `olderThanSeconds` ago, anomalies resolved that long ago and every
 * anomaly of a purged key, and usage aggregates older than MOMENTRY_USAGE_RETENTION. Audit
 * rows are never touched; the purge writes one `key.cleanup` row listing what it removed
 * (none when nothing was removed). `dryRun` computes the same lists and changes nothing.
 */
export async function cleanup(ctx: CoreContext, input: CleanupInput = {}): Promise<CleanupResult> {
  const i = parseInput(cleanupInputSchema, input)
  const now = ctx.clock.now()
  const cutoff = new Date(now.getTime() - i.olderThanSeconds * 1000)
  const usageCutoff = new Date(now.getTime() - ctx.config.usageRetentionSeconds * 1000)

  const plan = async (tx: Queryable, lock: boolean) => {
    const keys = await selectPurgeableKeys(tx, cutoff)
    const keyIds = keys.purge.map((k) => k.keyId)
    if (lock) await lockKeys(tx, keyIds)
    const anomalies = await selectPurgeableAnomalies(tx, cutoff, keyIds)
    return { keys, keyIds, anomalies }
  }

  const result = (p: Awaited<ReturnType<typeof plan>>, usage: { rows: number; failureRows: number }): CleanupResult => ({
    dryRun: i.dryRun,
    at: now.toISOString(),
    olderThan: formatDuration(i.olderThanSeconds),
    cutoff: cutoff.toISOString(),
    keys: p.keys.purge.map((k) => ({ id: k.keyId, name: k.name, type: k.type, reason: k.reason, endedAt: k.endedAt.toISOString() })),
    keptAsSuccessor: p.keys.keptAsSuccessor,
    anomalies: p.anomalies.map((a) => ({ id: a.anomalyId, keyId: a.keyId, type: a.type, status: a.status, reason: a.reason, resolvedAt: a.resolvedAt?.toISOString() ?? null })),
    usage: { retention: formatDuration(ctx.config.usageRetentionSeconds), cutoff: usageCutoff.toISOString(), ...usage },
  })

  if (i.dryRun) {
    // One snapshot for every list, and a transaction that cannot write.
    return (await ctx.sql.begin('isolation level repeatable read read only', async (tx) => {
      const p = await plan(tx, false)
      return result(p, await countUsageBefore(tx, usageCutoff))
    })) as CleanupResult
  }

  return (await ctx.sql.begin(async (tx) => {
    await tx`set local lock_timeout = '30s'`
    await lockCleanup(tx)
    const p = await plan(tx, true)
    const anomalyIds = p.anomalies.map((a) => a.anomalyId)
    await deleteAnomalies(tx, anomalyIds)
    await deleteKeys(tx, p.keyIds)
    const usage = await deleteUsageBefore(tx, usageCutoff)
    if (p.keyIds.length || anomalyIds.length || usage.rows || usage.failureRows) {
      await appendAudit(ctx, tx, {
        keyId: null,
        action: 'key.cleanup',
        actor: ctx.actor,
        at: now,
        details: {
          olderThan: formatDuration(i.olderThanSeconds),
          cutoff: cutoff.toISOString(),
          keyIds: p.keyIds,
          anomalyIds,
          usage: { rows: usage.rows, failureRows: usage.failureRows, before: usageCutoff.toISOString() },
        },
      })
    }
    return result(p, usage)
  })) as CleanupResult
}
