import * as z from 'zod'

/**
 * The Redis pub/sub channels momentry processes talk over, under the configured prefix.
 * `alerts` is a public contract (SPEC §6): every anomaly detection as JSON
 * {id, keyId, keyName, type, severity, observed, threshold, windowSeconds, detectedAt}.
 */
export const channels = (prefix: string) => ({
  invalidate: `${prefix}cache:invalidate`,
  blacklist: `${prefix}blacklist:changed`,
  lockout: `${prefix}lockout`,
  alerts: `${prefix}anomaly:alerts`,
})

/** Messages between momentry processes, validated on receipt (another process may be older, or hostile). */
export const invalidateMessage = z.object({ keyId: z.string().max(64) })
export const blacklistMessage = z.object({ network: z.string().max(64), change: z.enum(['added', 'removed']) })
export const lockoutMessage = z.object({ ip: z.string().max(64), retryAfterSeconds: z.number().int().positive() })
