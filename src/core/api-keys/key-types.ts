import * as z from 'zod'

export const KEY_TYPES = ['system', 'user', 'service', 'integration', 'emergency'] as const
export type KeyType = (typeof KEY_TYPES)[number]

/** Rotation grace periods from the seed. Emergency keys are replaced at once. */
export const GRACE_SECONDS: Record<KeyType, number> = {
  system: 72 * 3600,
  user: 24 * 3600,
  service: 48 * 3600,
  integration: 24 * 3600,
  emergency: 0,
}

export const KEY_STATUSES = ['active', 'rotating', 'disabled', 'revoked', 'expired'] as const
export type KeyStatus = (typeof KEY_STATUSES)[number]

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

/** Free text a person typed: trimmed, non-empty, bounded, no control characters. */
const plainText = (max: number) =>
  z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine((s) => !CONTROL.test(s), 'must not contain control characters')

/**
 * Text to filter by (an owner, an actor, a key id to look for): bounded and without control
 * characters, which no stored value holds and PostgreSQL refuses outright (NUL) in a query.
 */
export const filterTextSchema = (max: number) =>
  z
    .string()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine((s) => !CONTROL.test(s), 'must not contain control characters')

export const keyNameSchema = plainText(100)
export const ownerSchema = plainText(200)

/** `admin`, `keys:read`, `read:repository`, `billing.export` … lower-case, no spaces. */
export const SCOPE_PATTERN = /^[a-z0-9][a-z0-9_.:*-]{0,63}$/
export const scopeSchema = z.string().regex(SCOPE_PATTERN, 'a scope is 1–64 lower-case letters, digits and _ . : * -, e.g. keys:read')

export const scopesSchema = z
  .array(scopeSchema)
  .max(64, 'at most 64 scopes')
  .transform((scopes) => [...new Set(scopes)].sort())

/** Why a key was revoked, disabled or rotated; kept in the key and the audit log. */
export const reasonSchema = plainText(500)

export const metadataSchema = z
  .record(
    z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'metadata keys are 1–64 letters, digits and _ . -'),
    z.string().max(500, 'metadata values are at most 500 characters').refine((s) => !CONTROL.test(s), 'metadata values must not contain control characters'),
  )
  .refine((m) => Object.keys(m).length <= 50, 'at most 50 metadata entries')
