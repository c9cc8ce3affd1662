/** Age and expiry buckets shared by every report that draws the key age and expiry histogram. */
export const AGE_BUCKETS = ['< 7 days', '7–30 days', '30–90 days', '90–180 days', '180–365 days', '> 1 year'] as const
export const EXPIRY_BUCKETS = ['expired', '≤ 7 days', '8–30 days', '31–90 days', '> 90 days', 'never'] as const
export type AgeBucket = (typeof AGE_BUCKETS)[number]
export type ExpiryBucket = (typeof EXPIRY_BUCKETS)[number]

export interface AgeExpiryHistogram {
  /** Credentials by age at `at`, every bucket present (zeros included), in `AGE_BUCKETS` order. */
  age: { bucket: AgeBucket; count: number }[]
  /** Credentials by time left until expiry at `at`, every bucket present, in `EXPIRY_BUCKETS` order. */
  expiry: { bucket: ExpiryBucket; count: number }[]
}

const DAY = 86_400_000
const AGE_LIMITS = [7, 30, 90, 180, 365]
const EXPIRY_LIMITS = [7, 30, 90]

/**
 * Count credentials (ISO `createdAt`, ISO or null `expiresAt`) into the age and expiry buckets,
 * as seen at `at`. Age is whole days since creation; a credential created exactly 7 days ago is
 * in "7–30 days". Expiry: at or before `at` is "expired", null is "never".
 */
export function ageExpiryHistogram(items: Iterable<{ createdAt: string | null; expiresAt: string | null }>, at: Date): AgeExpiryHistogram {
  const age = new Array<number>(AGE_BUCKETS.length).fill(0)
  const expiry = new Array<number>(EXPIRY_BUCKETS.length).fill(0)
  const now = at.getTime()
  for (const item of items) {
    if (item.createdAt) {
      const days = Math.floor((now - Date.parse(item.createdAt)) / DAY)
      const i = AGE_LIMITS.findIndex((limit) => days < limit)
      age[i === -1 ? AGE_LIMITS.length : i]!++
    }
    if (!item.expiresAt) expiry[EXPIRY_BUCKETS.length - 1]!++
    else {
      const left = Date.parse(item.expiresAt) - now
      if (left <= 0) expiry[0]!++
      else {
        const days = Math.ceil(left / DAY)
        const i = EXPIRY_LIMITS.findIndex((limit) => days <= limit)
        expiry[i === -1 ? EXPIRY_LIMITS.length + 1 : i + 1]!++
      }
    }
  }
  return {
    age: AGE_BUCKETS.map((bucket, i) => ({ bucket, count: age[i]! })),
    expiry: EXPIRY_BUCKETS.map((bucket, i) => ({ bucket, count: expiry[i]! })),
  }
}
