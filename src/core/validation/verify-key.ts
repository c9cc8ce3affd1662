import * as z from 'zod'

import { KEY_LENGTH, hashKeyBase64, parseRawKey } from '../api-keys/key-format.js'
import { KEY_TYPES } from '../api-keys/key-types.js'
import type { ValidationRecord } from '../api-keys/repo.js'
import { keyStatusAt } from '../api-keys/status.js'
import { normaliseIp } from '../blacklist/ip.js'
import type { CoreContext } from '../context.js'
import type { CachedLookup } from './key-cache.js'
import type { InvalidCode } from './invalid-codes.js'
import { INVALID_CODES } from './invalid-codes.js'


export const validKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    type: z.enum(KEY_TYPES),
    scopes: z.array(z.string()),
    owner: z.string().nullable(),
    expiresAt: z.string().nullable(),
    /** Present while the key is an old key inside its rotation grace period. */
    rotating: z
      .object({
        graceExpiresAt: z.string(),
        replacedBy: z.string().nullable().meta({
          description:
            'The key to move to: the live end of the rotation chain (successors rotated again are followed), or null when that end is revoked, disabled or expired',
        }),
      })
      .optional(),
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
  /** The client's address: failures count against it (an IPv6 one, against its network). */
  ip?: string
  /**
   * The address of the trusted proxy that named `ip` (its socket). It is looked at first: a
   * proxy that is itself blacklisted or locked out is refused whatever client it names.
   * Failures never count against it (it speaks for many clients).
   */
  via?: string
  requiredScopes?: readonly string[]
  /** The key must also hold at least one of these (an admin route open to a narrower scope too). */
  anyOfScopes?: readonly string[]
}

/** Whether a key holds every required scope and, when some are offered, one of those. */
function hasScopes(scopes: readonly string[], input: VerifyInput): boolean {
  if (input.requiredScopes) {
    for (const scope of input.requiredScopes) if (!scopes.includes(scope)) return false
  }
  return !input.anyOfScopes || input.anyOfScopes.some((scope) => scopes.includes(scope))
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

type Refusal = Extract<VerifyResult, { valid: false }>

const BLACKLISTED: Refusal = Object.freeze({ valid: false, code: 'BLACKLISTED' }) as Refusal

/**
 * A failure: counted against the source IP, attributed to the key's usage when known, and
 * counted by the code answered (RATE_LIMITED when the IP's allowance was already used up).
 */
async function refuse(ctx: CoreContext, code: InvalidCode, ip: string | undefined, keyId?: string): Promise<VerifyResult> {
  const atMs = ctx.clock.ms()
  let result: Refusal = { valid: false, code }
  try {
    if (ip) {
      const count = await ctx.validation.fail(ip)
      if (!count.counted) result = { valid: false, code: 'RATE_LIMITED', retryAfterSeconds: count.retryAfterSeconds }
    }
  } finally {
    // Recorded even when counting failed (Redis away): the refusal happened either way.
    if (keyId) ctx.validation.usage.record({ keyId, ip, ok: false, code: result.code, atMs })
    else ctx.validation.usage.recordFailure({ code: result.code, ip, atMs })
  }
  return result
}

/** A refusal at the door (blacklisted or locked-out IP): no key looked at, only counted by code. */
function turnAway(ctx: CoreContext, result: Refusal, ip: string): Refusal {
  ctx.validation.usage.recordFailure({ code: result.code, ip, atMs: ctx.clock.ms() })
  return result
}

/**
 * At the door, from memory only: a refusal when `ip` (normalised) is blacklisted or locked
 * out, null when it may go on, undefined when memory cannot tell (not live).
 */
function doorInMemory(ctx: CoreContext, ip: string): Refusal | null | undefined {
  const v = ctx.validation
  const black = v.isBlacklisted(ip)
  if (black === true) return turnAway(ctx, BLACKLISTED, ip)
  if (black !== false) return undefined
  const wait = v.lockedFor(ip)
  if (typeof wait !== 'number') return undefined
  return wait > 0 ? turnAway(ctx, { valid: false, code: 'RATE_LIMITED', retryAfterSeconds: wait }, ip) : null
}

/** At the door: a refusal when `ip` (normalised) is blacklisted or locked out, else undefined. */
async function door(ctx: CoreContext, ip: string): Promise<Refusal | undefined> {
  const v = ctx.validation
  const black = v.isBlacklisted(ip)
  if (black === true || (black !== false && (await black))) return turnAway(ctx, BLACKLISTED, ip)
  const locked = v.lockedFor(ip)
  const wait = typeof locked === 'number' ? locked : await locked
  if (wait > 0) return turnAway(ctx, { valid: false, code: 'RATE_LIMITED', retryAfterSeconds: wait }, ip)
  return undefined
}

/** `input.via` in one spelling, or undefined when absent or the client (`ip`, normalised) itself. */
function proxyOf(input: VerifyInput, ip: string | undefined): string | undefined {
  if (!input.via) return undefined
  const via = normaliseIp(input.via)
  return via === ip ? undefined : via
}

/**
 * The decision when it needs no I/O and no waiting, else undefined (then `verifyKey`
 * decides). Only a started (long-running) runtime answers here: a key whose lookup is
 * cached, from an IP its mirrors know about. Refusals that count against the IP go to
 * `verifyKey` (the count lives in Redis); blacklisted and locked-out IPs (and proxies) are
 * answered.
 *
 * The format check is skipped on a cache hit on purpose: a hash found in the cache is the
 * hash of a stored key, so the key is well formed; a key that is not never reaches the
 * cache, so MALFORMED is still decided before any lookup.
 */
export function verifyKeyInMemory(ctx: CoreContext, input: VerifyInput): VerifyResult | undefined {
  if (!ctx.validation.longRunning) return undefined
  const ip = input.ip ? normaliseIp(input.ip) : undefined
  return decideInMemory(ctx, input, ip, proxyOf(input, ip))
}

function decideInMemory(ctx: CoreContext, input: VerifyInput, ip: string | undefined, via: string | undefined): VerifyResult | undefined {
  const v = ctx.validation
  if (via) {
    const refused = doorInMemory(ctx, via)
    if (refused !== null) return refused
  }
  if (ip) {
    const refused = doorInMemory(ctx, ip)
    if (refused !== null) return refused
  }
  if (input.key.length !== KEY_LENGTH) return undefined
  // Not counted yet: when this returns undefined, verifyKey looks again and counts.
  const entry = v.cache.find(hashKeyBase64(input.key))
  const k = entry?.record
  if (!k) return undefined
  const now = ctx.clock.ms()
  const status = keyStatusAt(k, now)
  if (status !== 'active' && status !== 'rotating') return undefined
  if (!hasScopes(k.scopes, input)) return undefined
  v.cache.countHit()
  return accept(ctx, entry, k, ip, now)
}

/** The valid outcome: usage buffered, and the cached entry's frozen view handed out. */
function accept(ctx: CoreContext, entry: CachedLookup, k: ValidationRecord, ip: string | undefined, atMs: number): VerifyResult {
  ctx.validation.usage.record({ keyId: k.keyId, ip, ok: true, atMs })
  const cached = entry as { view?: ValidKey }
  cached.view ??= validKey(k)
  return { valid: true, key: cached.view }
}

/**
 * Decide whether a raw key may be used. Checks, in order: the trusted proxy's own address
 * (`via`) blacklisted or locked out → source IP blacklisted → IP (IPv6: its network) locked
 * out → format and checksum (no I/O) → lookup by SHA-256 (cache, then one shared
 * database read compared with timingSafeEqual) → revoked → disabled → expired (own expiry
 * or end of rotation grace) → required scopes. Failures count against the source IP;
 * the one that uses up its allowance is still answered, later ones get RATE_LIMITED.
 * Every attributable outcome is buffered as usage, and every refusal is counted by its code
 * and source IP (blacklisted and locked-out IPs too). Expected outcomes are values.
 *
 * In a started (long-running) context a cached key from a clean IP is decided without
 * any I/O (`verifyKeyInMemory`, which callers on a hot path may call directly).
 */
export async function verifyKey(ctx: CoreContext, input: VerifyInput): Promise<VerifyResult> {
  const v = ctx.validation
  const ip = input.ip ? normaliseIp(input.ip) : undefined
  const via = proxyOf(input, ip)
  if (v.longRunning) {
    const decided = decideInMemory(ctx, input, ip, via)
    if (decided) return decided
  }
  // The proxy first: one that is itself refused speaks for nobody.
  const refused = (via && (await door(ctx, via))) || (ip && (await door(ctx, ip)))
  if (refused) return refused
  if (!parseRawKey(input.key)) return refuse(ctx, 'MALFORMED', ip)
  const hash = hashKeyBase64(input.key)
  const entry = v.peek(hash) ?? (await v.lookup(hash))
  const k = entry.record
  if (!k) return refuse(ctx, 'NOT_FOUND', ip)
  const now = ctx.clock.ms()
  const status = keyStatusAt(k, now)
  if (status === 'revoked') return refuse(ctx, 'REVOKED', ip, k.keyId)
  if (status === 'disabled') return refuse(ctx, 'DISABLED', ip, k.keyId)
  if (status === 'expired') return refuse(ctx, 'EXPIRED', ip, k.keyId)
  if (!hasScopes(k.scopes, input)) return refuse(ctx, 'INSUFFICIENT_SCOPE', ip, k.keyId)
  return accept(ctx, entry, k, ip, now)
}
