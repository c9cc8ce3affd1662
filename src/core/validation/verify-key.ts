import { createHash } from 'node:crypto'

import { parseRawKey } from '../api-keys/key-format.js'
import { z } from 'zod'

import { KEY_TYPES } from '../api-keys/key-types.js'
import type { KeyRecord } from '../api-keys/repo.js'
import { keyStatus } from '../api-keys/status.js'
import { normaliseIp } from '../blacklist/ip.js'
import type { CoreContext } from '../context.js'

export const INVALID_CODES = [
  'MALFORMED',
  'NOT_FOUND',
  'DISABLED',
  'REVOKED',
  'EXPIRED',
  'INSUFFICIENT_SCOPE',
  'RATE_LIMITED',
  'BLACKLISTED',
] as const
export type InvalidCode = (typeof INVALID_CODES)[number]

export const validKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    type: z.enum(KEY_TYPES),
    scopes: z.array(z.string()),
    owner: z.string().nullable(),
    expiresAt: z.string().nullable(),
    /** Present while the key is an old key inside its rotation grace period. */
    rotating: z.object({ graceExpiresAt: z.string(), replacedBy: z.string().nullable() }).optional(),
  })
  .meta({ id: 'ValidKey' })
export type ValidKey = z.infer<typeof validKeySchema>

/** The validation result: a discriminated union on `valid`. */
export const verifyResultSchema = z
  .discriminatedUnion('valid', [
    z.object({ valid: z.literal(true), key: validKeySchema }),
    z.object({ valid: z.literal(false), code: z.enum(INVALID_CODES), retryAfterSeconds: z.number().int().optional() }),
  ])
  .meta({ id: 'VerifyResult' })
export type VerifyResult = z.infer<typeof verifyResultSchema>

export interface VerifyInput {
  key: string
  ip?: string
  requiredScopes?: readonly string[]
}

function validKey(k: KeyRecord): ValidKey {
  return {
    id: k.keyId,
    name: k.name,
    type: k.type,
    scopes: k.scopes,
    owner: k.owner,
    expiresAt: k.expiresAt?.toISOString() ?? null,
    ...(k.graceExpiresAt ? { rotating: { graceExpiresAt: k.graceExpiresAt.toISOString(), replacedBy: k.replacedBy } } : {}),
  }
}

/**
 * Decide whether a raw key may be used. Checks, in order: source IP blacklisted → IP
 * locked out → format and checksum (no I/O) → lookup by SHA-256 (cache, then one shared
 * database read compared with timingSafeEqual) → revoked → disabled → expired (own expiry
 * or end of rotation grace) → required scopes. Failures count against the source IP;
 * the one that uses up its allowance is still answered, later ones get RATE_LIMITED.
 * Every attributable outcome is buffered as usage. Expected outcomes are values.
 */
export async function verifyKey(ctx: CoreContext, input: VerifyInput): Promise<VerifyResult> {
  const v = ctx.validation
  const ip = input.ip ? normaliseIp(input.ip) : undefined
  if (ip) {
    if (await v.isBlacklisted(ip)) return { valid: false, code: 'BLACKLISTED' }
    const wait = await v.lockedFor(ip)
    if (wait > 0) return { valid: false, code: 'RATE_LIMITED', retryAfterSeconds: wait }
  }

  const refuse = async (code: InvalidCode, keyId?: string): Promise<VerifyResult> => {
    if (keyId) v.usage.record({ keyId, ip, ok: false, at: ctx.clock.now() })
    if (!ip) return { valid: false, code }
    const count = await v.fail(ip)
    return count.counted ? { valid: false, code } : { valid: false, code: 'RATE_LIMITED', retryAfterSeconds: count.retryAfterSeconds }
  }

  if (!parseRawKey(input.key)) return refuse('MALFORMED')
  const { record: k } = await v.lookup(createHash('sha256').update(input.key).digest('base64'))
  if (!k) return refuse('NOT_FOUND')
  const now = ctx.clock.now()
  const status = keyStatus(k, now)
  if (status === 'revoked') return refuse('REVOKED', k.keyId)
  if (status === 'disabled') return refuse('DISABLED', k.keyId)
  if (status === 'expired') return refuse('EXPIRED', k.keyId)
  if (input.requiredScopes) {
    for (const scope of input.requiredScopes) if (!k.scopes.includes(scope)) return refuse('INSUFFICIENT_SCOPE', k.keyId)
  }
  v.usage.record({ keyId: k.keyId, ip, ok: true, at: now })
  return { valid: true, key: validKey(k) }
}
