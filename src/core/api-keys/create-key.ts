import * as z from 'zod'

import { appendAudit } from '../audit/repo.js'
import type { CoreContext } from '../context.js'
import { MAX_DURATION_SECONDS } from '../duration.js'
import { InputError, parseInput } from '../validate-input.js'
import { generateRawKey, hashKey, keyStub } from './key-format.js'
import { newKeyId } from './key-id.js'
import { KEY_TYPES, keyNameSchema, metadataSchema, ownerSchema, scopesSchema } from './key-types.js'
import type { KeyView } from './key-view.js'
import { toKeyView } from './key-view.js'
import type { KeyRecord } from './repo.js'
import { insertKey } from './repo.js'
import type { TransactionSql } from '../db/connect.js'

export const createKeyInputSchema = z
  .object({
    name: keyNameSchema,
    type: z.enum(KEY_TYPES, { message: `must be one of ${KEY_TYPES.join(', ')}` }),
    scopes: scopesSchema.default([]),
    owner: ownerSchema.nullish(),
    expiresInSeconds: z.number().int().positive().max(MAX_DURATION_SECONDS).optional(),
    expiresAt: z.coerce.date().optional(),
    rotateEverySeconds: z.number().int().positive().max(MAX_DURATION_SECONDS).optional(),
    metadata: metadataSchema.default({}),
  })
  .strict()
  .refine((i) => !(i.expiresInSeconds && i.expiresAt), { message: 'give an expiry as a duration or a date, not both', path: ['expiresAt'] })

export type CreateKeyInput = z.input<typeof createKeyInputSchema>

/** A newly issued key. `secret` is the raw key: it exists only in this value, shown once. */
export interface IssuedKey {
  secret: string
  key: KeyView
}

interface Insertable {
  name: string
  type: (typeof KEY_TYPES)[number]
  scopes: string[]
  owner: string | null
  metadata: Record<string, string>
  expiresAt: Date | null
  rotateEverySeconds: number | null
  rotatedFrom: string | null
}

/** Generate, hash and insert a key plus its audit row inside `tx`. Shared by create and rotate. */
export async function issueKey(
  ctx: CoreContext,
  tx: TransactionSql,
  k: Insertable,
  now: Date,
): Promise<{ secret: string; record: KeyRecord }> {
  const secret = generateRawKey(k.type)
  const record = await insertKey(tx, {
    ...k,
    keyId: newKeyId(),
    hash: hashKey(secret),
    stub: keyStub(secret),
    createdAt: now,
    createdBy: ctx.actor,
  })
  await appendAudit(ctx, tx, {
    keyId: record.keyId,
    action: 'key.create',
    actor: ctx.actor,
    at: now,
    details: {
      name: record.name,
      type: record.type,
      scopes: record.scopes,
      owner: record.owner,
      expiresAt: record.expiresAt?.toISOString() ?? null,
      rotatedFrom: record.rotatedFrom,
    },
  })
  return { secret, record }
}

/** Issue a new API key. Only its SHA-256 is stored; the raw key is returned once. */
export async function createKey(ctx: CoreContext, input: CreateKeyInput): Promise<IssuedKey> {
  const i = parseInput(createKeyInputSchema, input)
  const now = ctx.clock.now()
  let expiresAt = i.expiresAt ?? null
  if (i.expiresInSeconds) expiresAt = new Date(now.getTime() + i.expiresInSeconds * 1000)
  if (expiresAt && expiresAt.getTime() <= now.getTime()) {
    throw new InputError(['expiresAt'], 'is not in the future', { value: expiresAt.toISOString(), hint: 'Give a later date or a duration such as 30d' })
  }
  const { secret, record } = await ctx.sql.begin((tx) =>
    issueKey(
      ctx,
      tx,
      {
        name: i.name,
        type: i.type,
        scopes: i.scopes,
        owner: i.owner ?? null,
        metadata: i.metadata,
        expiresAt,
        rotateEverySeconds: i.rotateEverySeconds ?? null,
        rotatedFrom: null,
      },
      now,
    ),
  )
  ctx.bus.emit({ type: 'key.created', keyId: record.keyId, name: record.name, keyType: record.type, rotatedFrom: null, at: now.toISOString() })
  return { secret, key: toKeyView(record, now) }
}
