import { timingSafeEqual } from 'node:crypto'

import { hashKey, parseRawKey } from '../api-keys/key-format.js'
import type { KeyType } from '../api-keys/key-types.js'
import { findKeyByHash, touchLastUsed } from '../api-keys/repo.js'
import { keyStatus } from '../api-keys/status.js'
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

export interface ValidKey {
  id: string
  name: string
  type: KeyType
  scopes: string[]
  owner: string | null
  expiresAt: string | null
  /** Present while the key is an old key inside its rotation grace period. */
  rotating?: { graceExpiresAt: string; replacedBy: string | null }
}

export type VerifyResult =
  | { valid: true; key: ValidKey }
  | { valid: false; code: InvalidCode; retryAfterSeconds?: number }

export interface VerifyInput {
  key: string
  ip?: string
  requiredScopes?: readonly string[]
}

const invalid = (code: InvalidCode): VerifyResult => ({ valid: false, code })

/**
 * Decide whether a raw key may be used. Checks, in order: format and checksum (no I/O),
 * lookup by SHA-256, constant-time hash comparison, revoked, disabled, expired (own
 * expiry or end of rotation grace), required scopes. Expected outcomes are values.
 */
export async function verifyKey(ctx: CoreContext, input: VerifyInput): Promise<VerifyResult> {
  if (!parseRawKey(input.key)) return invalid('MALFORMED')
  const hash = hashKey(input.key)
  const found = await findKeyByHash(ctx.sql, hash)
  if (!found || !timingSafeEqual(found.keyHash, hash)) return invalid('NOT_FOUND')
  const k = found.record
  const now = ctx.clock.now()
  const status = keyStatus(k, now)
  if (status === 'revoked') return invalid('REVOKED')
  if (status === 'disabled') return invalid('DISABLED')
  if (status === 'expired') return invalid('EXPIRED')
  for (const scope of input.requiredScopes ?? []) {
    if (!k.scopes.includes(scope)) return invalid('INSUFFICIENT_SCOPE')
  }
  await touchLastUsed(ctx.sql, k.keyId, now)
  return {
    valid: true,
    key: {
      id: k.keyId,
      name: k.name,
      type: k.type,
      scopes: k.scopes,
      owner: k.owner,
      expiresAt: k.expiresAt?.toISOString() ?? null,
      ...(k.graceExpiresAt ? { rotating: { graceExpiresAt: k.graceExpiresAt.toISOString(), replacedBy: k.replacedBy } } : {}),
    },
  }
}
