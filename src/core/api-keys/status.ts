import type { KeyStatus } from './key-types.js'

export interface StatusFields {
  enabled: boolean
  revokedAt: Date | null
  expiresAt: Date | null
  graceExpiresAt: Date | null
}

/**
 * A key's status, derived from its timestamps at `now` (never stored, so never stale).
 * Revocation is final and wins over a disabled flag; otherwise the order is that of
 * validation: disabled → expired (own expiry or end of grace) → rotating → active.
 */
export function keyStatus(k: StatusFields, now: Date): KeyStatus {
  return keyStatusAt(k, now.getTime())
}

/** `keyStatus` at `t`, in epoch milliseconds. */
export function keyStatusAt(k: StatusFields, t: number): KeyStatus {
  if (k.revokedAt) return 'revoked'
  if (!k.enabled) return 'disabled'
  if ((k.expiresAt && k.expiresAt.getTime() <= t) || (k.graceExpiresAt && k.graceExpiresAt.getTime() <= t)) return 'expired'
  if (k.graceExpiresAt) return 'rotating'
  return 'active'
}
