import * as z from 'zod'

import { appendAudit } from '../audit/repo.js'
import type { CoreContext } from '../context.js'
import { ConflictError } from '../errors.js'
import { readableTime } from '../time-text.js'
import { parseInput } from '../validate-input.js'
import { reasonSchema } from './key-types.js'
import { withLockedKey } from './key-lock.js'
import type { KeyView } from './key-view.js'
import { toKeyView } from './key-view.js'
import { markRevoked, setEnabled } from './repo.js'

const changeInputSchema = z.object({ id: z.string(), reason: reasonSchema.optional() }).strict()
export type ChangeKeyInput = z.input<typeof changeInputSchema>

/** Revoke a key for good. It stops validating at once; revocation cannot be undone. */
export async function revokeKey(ctx: CoreContext, input: ChangeKeyInput): Promise<KeyView> {
  const i = parseInput(changeInputSchema, input)
  const { record, now } = await withLockedKey(ctx, i.id, async (tx, key, now) => {
    if (key.revokedAt) {
      throw new ConflictError(`key ${key.keyId} is already revoked (since ${readableTime(key.revokedAt)})`)
    }
    const record = await markRevoked(tx, key.keyId, now, i.reason ?? null)
    await appendAudit(ctx, tx, { keyId: key.keyId, action: 'key.revoke', actor: ctx.actor, at: now, details: { reason: i.reason ?? null } })
    return { record, now }
  })
  ctx.bus.emit({ type: 'key.revoked', keyId: record.keyId, reason: record.revokedReason, at: now.toISOString() })
  return toKeyView(record, now)
}

/** Switch a key off without revoking it; `enableKey` switches it back on. */
export async function disableKey(ctx: CoreContext, input: ChangeKeyInput): Promise<KeyView> {
  const i = parseInput(changeInputSchema, input)
  const { record, now } = await withLockedKey(ctx, i.id, async (tx, key, now) => {
    if (key.revokedAt) throw new ConflictError(`key ${key.keyId} is revoked; revocation is final`)
    if (!key.enabled) throw new ConflictError(`key ${key.keyId} is already disabled`, `Run \`momentry api-key enable ${key.keyId}\` to switch it back on`)
    const record = await setEnabled(tx, key.keyId, false, now, i.reason ?? null)
    await appendAudit(ctx, tx, { keyId: key.keyId, action: 'key.disable', actor: ctx.actor, at: now, details: { reason: i.reason ?? null } })
    return { record, now }
  })
  ctx.bus.emit({ type: 'key.disabled', keyId: record.keyId, reason: record.disabledReason, at: now.toISOString() })
  return toKeyView(record, now)
}

export async function enableKey(ctx: CoreContext, input: { id: string }): Promise<KeyView> {
  const { record, now } = await withLockedKey(ctx, input.id, async (tx, key, now) => {
    if (key.revokedAt) throw new ConflictError(`key ${key.keyId} is revoked; revocation is final`, 'Create a new key instead')
    if (key.enabled) throw new ConflictError(`key ${key.keyId} is not disabled`)
    const record = await setEnabled(tx, key.keyId, true, now, null)
    await appendAudit(ctx, tx, { keyId: key.keyId, action: 'key.enable', actor: ctx.actor, at: now, details: {} })
    return { record, now }
  })
  ctx.bus.emit({ type: 'key.enabled', keyId: record.keyId, at: now.toISOString() })
  return toKeyView(record, now)
}
