import type { CoreContext } from '../context.js'
import type { LockedOutIp } from '../validation/locked-out.js'
import { listLockedOutIps } from '../validation/locked-out.js'
import type { KeyStatus, KeyType } from './key-types.js'
import { KEY_STATUSES, KEY_TYPES } from './key-types.js'
import type { LifecycleCounts } from './stats-repo.js'
import { countByTypeAndStatus, lifecycleCounts } from './stats-repo.js'

export interface KeyStats extends LifecycleCounts {
  total: number
  /**
   * How many IPs are locked out now: from Redis when configured, else from PostgreSQL's
   * `ip_failures`. null: Redis is configured but unreachable, so it is not known now.
   */
  lockedOutIps: number | null
  /** Those IPs with the seconds left on their lockout, by address (null as above). */
  lockedOut: LockedOutIp[] | null
  /** Every type × status cell, zeros included, so the shape never changes. */
  byTypeAndStatus: Record<KeyType, Record<KeyStatus, number>>
  byStatus: Record<KeyStatus, number>
}

/**
 * SPEC §10's `api-key stats`: counts by type × status, keys expiring in 7/30 days, rotations due,
 * validations and failures in the last 24 h, open anomalies and the IPs locked out now.
 */
export async function keyStats(ctx: CoreContext): Promise<KeyStats> {
  const now = ctx.clock.now()
  const [cells, lifecycle, locked] = await Promise.all([countByTypeAndStatus(ctx.sql, now), lifecycleCounts(ctx.sql, now), listLockedOutIps(ctx)])
  const zero = () => Object.fromEntries(KEY_STATUSES.map((s) => [s, 0])) as Record<KeyStatus, number>
  const byTypeAndStatus = Object.fromEntries(KEY_TYPES.map((t) => [t, zero()])) as KeyStats['byTypeAndStatus']
  const byStatus = zero()
  let total = 0
  for (const c of cells) {
    byTypeAndStatus[c.type][c.status] += c.count
    byStatus[c.status] += c.count
    total += c.count
  }
  return { total, lockedOutIps: locked ? locked.length : null, lockedOut: locked ?? null, byTypeAndStatus, byStatus, ...lifecycle }
}
