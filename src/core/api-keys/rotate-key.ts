import * as z from 'zod'

import { appendAudit } from '../audit/repo.js'
import type { CoreContext } from '../context.js'
import type { TransactionSql } from '../db/connect.js'
import { MAX_DURATION_SECONDS } from '../duration.js'
import { ConflictError } from '../errors.js'
import { parseInput } from '../validate-input.js'
import { issueKey } from './create-key.js'
import { withLockedKey } from './key-lock.js'
import { GRACE_SECONDS, reasonSchema } from './key-types.js'
import type { KeyView } from './key-view.js'
import { toKeyView } from './key-view.js'
import type { KeyRecord } from './repo.js'
import { findRotationDue, markRotated } from './repo.js'
import { notifyRotationDue } from './rotation-notices.js'
import { keyStatus } from './status.js'

export const rotateKeyInputSchema = z
  .object({
    id: z.string(),
    /** Security incident: revoke the old key now instead of giving it a grace period. */
    force: z.boolean().default(false),
    /** Override the type's grace period (0 revokes at once). */
    graceSeconds: z.number().int().min(0).max(MAX_DURATION_SECONDS).optional(),
    reason: reasonSchema.optional(),
  })
  .strict()
  .refine((i) => !(i.force && i.graceSeconds !== undefined), { message: 'cannot be given with force (which revokes at once)', path: ['graceSeconds'] })

export type RotateKeyInput = z.input<typeof rotateKeyInputSchema>

export interface RotatedKey {
  /** The new raw key, shown once. */
  secret: string
  key: KeyView
  /** The old key: `rotating` until graceExpiresAt, or `revoked` at once. */
  previous: KeyView
}

/**
 * Replace a key with a new one of the same name, type, scopes, owner, metadata and
 * rotation interval. The old key keeps validating until now + grace (type default or
 * `graceSeconds`), never past its own expiry; `force`, a zero grace and emergency keys
 * revoke it at once. The old key's row lock makes concurrent rotations serialise: the
 * second sees `replaced_by` and fails with a conflict.
 */
export interface RotateHooks {
  /**
   * Runs inside the rotation's transaction once the new key is written, before commit: a
   * throw undoes the rotation (used to store the new secret, so that a key is never rotated
   * to a secret nobody kept).
   */
  beforeCommit?: (tx: TransactionSql, r: { secret: string; key: KeyRecord; previous: KeyRecord; now: Date }) => Promise<void>
}

export async function rotateKey(ctx: CoreContext, input: RotateKeyInput, hooks: RotateHooks = {}): Promise<RotatedKey> {
  const i = parseInput(rotateKeyInputSchema, input)
  const result = await withLockedKey(ctx, i.id, async (tx, old, now) => {
    if (old.replacedBy) {
      throw new ConflictError(`key ${old.keyId} was already rotated to ${old.replacedBy}`, `Rotate ${old.replacedBy} instead`)
    }
    const status = keyStatus(old, now)
    if (status === 'revoked' || status === 'expired') {
      throw new ConflictError(`key ${old.keyId} is ${status} and cannot be rotated`, 'Create a new key with `momentry api-key create`')
    }
    const graceSeconds = i.force ? 0 : (i.graceSeconds ?? GRACE_SECONDS[old.type])
    let graceExpiresAt: Date | null = graceSeconds > 0 ? new Date(now.getTime() + graceSeconds * 1000) : null
    if (graceExpiresAt && old.expiresAt && old.expiresAt < graceExpiresAt) graceExpiresAt = old.expiresAt
    // The new key gets the old one's lifetime, counted from now.
    const lifetimeMs = old.expiresAt ? old.expiresAt.getTime() - old.createdAt.getTime() : null

    const { secret, record } = await issueKey(
      ctx,
      tx,
      {
        name: old.name,
        type: old.type,
        scopes: old.scopes,
        owner: old.owner,
        metadata: old.metadata,
        expiresAt: lifetimeMs === null ? null : new Date(now.getTime() + lifetimeMs),
        rotateEverySeconds: old.rotateEverySeconds,
        rotatedFrom: old.keyId,
      },
      now,
    )
    const why = i.force ? 'forced rotation' : old.type === 'emergency' ? 'rotation (emergency keys have no grace period)' : 'rotation with no grace period'
    const previous = await markRotated(tx, old.keyId, {
      replacedBy: record.keyId,
      rotatedAt: now,
      graceExpiresAt,
      revokedReason: i.reason ? `${why}: ${i.reason}` : why,
    })
    await appendAudit(ctx, tx, {
      keyId: old.keyId,
      action: 'key.rotate',
      actor: ctx.actor,
      at: now,
      details: {
        replacedBy: record.keyId,
        forced: i.force,
        graceSeconds: graceExpiresAt ? Math.round((graceExpiresAt.getTime() - now.getTime()) / 1000) : 0,
        graceExpiresAt: graceExpiresAt?.toISOString() ?? null,
        reason: i.reason ?? null,
      },
    })
    await hooks.beforeCommit?.(tx, { secret, key: record, previous, now })
    return { secret, record, previous, now }
  })
  const { record, previous, now } = result
  ctx.bus.emit({ type: 'key.created', keyId: record.keyId, name: record.name, keyType: record.type, rotatedFrom: previous.keyId, at: now.toISOString() })
  ctx.bus.emit({
    type: 'key.rotated',
    keyId: previous.keyId,
    newKeyId: record.keyId,
    graceExpiresAt: previous.graceExpiresAt?.toISOString() ?? null,
    revokedNow: previous.revokedAt !== null,
    at: now.toISOString(),
  })
  return { secret: result.secret, key: toKeyView(record, now), previous: toKeyView(previous, now) }
}

export interface DueRotation {
  rotated: RotatedKey[]
  failed: { id: string; error: string }[]
}

/**
 * Rotate every key whose `rotate-every` interval has passed (for cron). Each key rotates
 * in its own transaction; one failure does not stop the others.
 */
export async function rotateDueKeys(ctx: CoreContext, options: { limit?: number } = {}): Promise<DueRotation> {
  const ids = await dueKeyIds(ctx, options.limit)
  const out: DueRotation = { rotated: [], failed: [] }
  for (const id of ids) {
    try {
      out.rotated.push(await rotateKey(ctx, { id, reason: 'scheduled rotation' }))
    } catch (error) {
      out.failed.push({ id, error: (error as Error).message })
    }
  }
  return out
}

/** Send the due `key.rotation_due` notices, then list the keys whose rotation interval has passed. */
export async function dueKeyIds(ctx: CoreContext, limit = 1000): Promise<string[]> {
  await notifyRotationDue(ctx)
  return findRotationDue(ctx.sql, ctx.clock.now(), limit)
}
