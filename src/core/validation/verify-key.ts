import { z } from 'zod'

import { hashKeyBase64, parseRawKey } from '../api-keys/key-format.js'
import { KEY_TYPES } from '../api-keys/key-types.js'
import type { ValidationRecord } from '../api-keys/repo.js'
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

/** The valid-result view of a record; frozen, because the cache hands the same one to every caller. */
function validKey(k: ValidationRecord): ValidKey {
  return deepFreeze({
    id: k.keyId,
    name: k.name,
    type: k.type,
    scopes: k.scopes,
    owner: k.owner,
    expiresAt: k.expiresAt?.toISOString() ?? null,
    ...(k.graceExpiresAt ? { rotating: { graceExpiresAt: k.graceExpiresAt.toISOString(), replacedBy: k.replacedBy } } : {}),
  })
}

function deepFreeze<T extends object>(view: T & { scopes: string[]; rotating?: object }): T {
  view.scopes = [...view.scopes]
  Object.freeze(view.scopes)
  if (view.rotating) Object.freeze(view.rotating)
  return Object.freeze(view)
}

const BLACKLISTED: VerifyResult = Object.freeze({ valid: false, code: 'BLACKLISTED' }) as VerifyResult

/** A failure: attributed to the key's usage when known, and counted against the source IP. */
async function refuse(ctx: CoreContext, code: InvalidCode, ip: string | undefined, keyId?: string): Promise<VerifyResult> {
  if (keyId) ctx.validation.usage.record({ keyId, ip, ok: false, at: ctx.clock.now() })
  if (!ip) return { valid: false, code }
  const count = await ctx.validation.fail(ip)
  return count.counted ? { valid: false, code } : { valid: false, code: 'RATE_LIMITED', retryAfterSeconds: count.retryAfterSeconds }
}

/**
 * Decide whether a raw key may be used. Checks, in order: source IP blacklisted → IP
 * locked out → format and checksum (no I/O) → lookup by SHA-256 (cache, then one shared
 * database read compared with timingSafeEqual) → revoked → disabled → expired (own expiry
 * or end of rotation grace) → required scopes. Failures count against the source IP;
 * the one that uses up its allowance is still answered, later ones get RATE_LIMITED.
 * Every attributable outcome is buffered as usage. Expected outcomes are values.
 *
 * In a started (long-running) context a cached key from a clean IP is decided without
 * any I/O or awaiting: every check below is synchronous unless it has to go out.
 */
export async function verifyKey(ctx: CoreContext, input: VerifyInput): Promise<VerifyResult> {
  const v = ctx.validation
  const ip = input.ip ? normaliseIp(input.ip) : undefined
  if (ip) {
    const black = v.isBlacklisted(ip)
    if (black === true || (black !== false && (await black))) return BLACKLISTED
    const locked = v.lockedFor(ip)
    const wait = typeof locked === 'number' ? locked : await locked
    if (wait > 0) return { valid: false, code: 'RATE_LIMITED', retryAfterSeconds: wait }
  }
  if (!parseRawKey(input.key)) return refuse(ctx, 'MALFORMED', ip)
  const hash = hashKeyBase64(input.key)
  const entry = v.peek(hash) ?? (await v.lookup(hash))
  const k = entry.record
  if (!k) return refuse(ctx, 'NOT_FOUND', ip)
  const now = ctx.clock.now()
  const status = keyStatus(k, now)
  if (status === 'revoked') return refuse(ctx, 'REVOKED', ip, k.keyId)
  if (status === 'disabled') return refuse(ctx, 'DISABLED', ip, k.keyId)
  if (status === 'expired') return refuse(ctx, 'EXPIRED', ip, k.keyId)
  if (input.requiredScopes) {
    for (const scope of input.requiredScopes) if (!k.scopes.includes(scope)) return refuse(ctx, 'INSUFFICIENT_SCOPE', ip, k.keyId)
  }
  v.usage.record({ keyId: k.keyId, ip, ok: true, at: now })
  const cached = entry as { view?: ValidKey }
  cached.view ??= validKey(k)
  return { valid: true, key: cached.view }
}
