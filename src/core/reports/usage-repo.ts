import type { Queryable } from '../db/connect.js'
import { statusExpr } from '../api-keys/repo.js'
import type { InvalidCode } from '../validation/invalid-codes.js'

/** One key's use over the window, per UTC day, sparse: `days[i]` is an offset from the first day. */
export interface KeyUsageRow {
  keyId: string
  days: number[]
  ok: number[]
  failed: number[]
  /** The minute of its last validation in the window. */
  lastUsedAt: Date
}

const DAY_MS = 86_400_000
const midnight = (t: number) => t - (((t % DAY_MS) + DAY_MS) % DAY_MS)

/**
 * Validations per key per UTC day in [from, until), summed by PostgreSQL: one row per key that
 * was used, with its days as parallel arrays, so no per-day or per-minute row reaches this
 * process. Whole days come from the daily table (sql/0011, one row per key per day, in the
 * order of its primary key); only the partial first and last days of a window that does not
 * start or end at midnight are summed from the per-minute table. Per-day sums are `int`: 2^31
 * validations of one key in one day is far beyond what one deployment verifies.
 */
export async function usageByKeyAndDay(q: Queryable, from: Date, until: Date, firstDay: string): Promise<KeyUsageRow[]> {
  const fullFrom = new Date(midnight(from.getTime() + DAY_MS - 1))
  const fullUntil = new Date(midnight(until.getTime()))
  const hasFullDays = fullFrom < fullUntil
  // The minutes outside whole days: [from, fullFrom) and [fullUntil, until), or all of it.
  const headEnd = hasFullDays ? fullFrom : until
  const tailStart = hasFullDays ? fullUntil : until
  const rows = await q`
    select key_id, array_agg(d order by d) as days, array_agg(ok order by d) as ok, array_agg(failed order by d) as failed,
           max(last_minute) as last_minute
    from (
      select key_id, (day - ${firstDay}::date) as d, ok_count::int as ok, fail_count::int as failed, last_minute
      from key_usage_day
      where ${hasFullDays} and day >= ${fullFrom.toISOString().slice(0, 10)}::date and day < ${fullUntil.toISOString().slice(0, 10)}::date
      union all
      select key_id, ((minute at time zone 'UTC')::date - ${firstDay}::date) as d,
             sum(ok_count)::int as ok, sum(fail_count)::int as failed, max(minute) as last_minute
      from key_usage_minute
      where (minute >= ${from} and minute < ${headEnd}) or (minute >= ${tailStart} and minute < ${until})
      group by 1, 2
    ) per_day
    group by key_id`
  return rows.map((r) => ({ keyId: r.key_id, days: r.days, ok: r.ok, failed: r.failed, lastUsedAt: r.last_minute }))
}

export interface ReportKeyRow {
  keyId: string
  name: string
  type: string
  owner: string | null
  status: string
  createdAt: Date
  expiresAt: Date | null
  /** The minute of the last recorded validation before `until`, in or before the window. */
  lastUsedAt: Date | null
}

/**
 * The keys a usage report covers: created before `until` and not ended (revoked, expired, past
 * their grace) before `from`, and any key used in the window (a revoked key still presented). Last use is one backward probe of the primary key
 * (key_id, minute) per key, never a scan of the key's history.
 */
export async function reportKeys(q: Queryable, from: Date, until: Date, now: Date): Promise<ReportKeyRow[]> {
  const rows = await q`
    select k.key_id, k.name, k.key_type, k.owner, k.created_at, k.expires_at, ${statusExpr(q, now)} as status,
      (select max(u.minute) from key_usage_minute u where u.key_id = k.key_id and u.minute < ${until}) as last_minute
    from api_keys k
    where (k.created_at < ${until}
        and (k.revoked_at is null or k.revoked_at >= ${from})
        and coalesce(least(k.expires_at, k.grace_expires_at), 'infinity') >= ${from})
      or exists (select 1 from key_usage_minute u where u.key_id = k.key_id and u.minute >= ${from} and u.minute < ${until})`
  return rows.map((r) => ({
    keyId: r.key_id,
    name: r.name,
    type: r.key_type,
    owner: r.owner,
    status: r.status,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    lastUsedAt: r.last_minute,
  }))
}

/** One key's refusals of one code over the window, per UTC day, sparse (as `KeyUsageRow`). */
export interface KeyFailureRow {
  keyId: string
  code: InvalidCode
  days: number[]
  counts: number[]
}

/**
 * Each key's refusals in [from, until) per code per UTC day, summed by PostgreSQL (a range scan
 * of the failure table's primary key, which leads with the minute): one row per key and code,
 * its days as parallel arrays. Failures no key is named for (key_id '') are left out.
 */
export async function failuresByKeyAndCode(q: Queryable, from: Date, until: Date, firstDay: string): Promise<KeyFailureRow[]> {
  const rows = await q`
    select key_id, code, array_agg(d order by d) as days, array_agg(n order by d) as counts
    from (
      select key_id, code, ((minute at time zone 'UTC')::date - ${firstDay}::date) as d, sum(count)::int as n
      from validation_failure_minute
      where minute >= ${from} and minute < ${until} and key_id <> ''
      group by 1, 2, 3
    ) per_day
    group by key_id, code`
  return rows.map((r) => ({ keyId: r.key_id, code: r.code, days: r.days, counts: r.counts }))
}
