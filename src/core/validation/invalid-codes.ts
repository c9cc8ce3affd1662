/**
 * Why a validation was refused, in the order checks run. A leaf module: the usage recorder
 * counts failures by code without importing the validation path that produces them.
 */
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
