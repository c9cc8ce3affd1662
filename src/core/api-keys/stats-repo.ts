import type { Queryable } from '../db/connect.js'
import type { KeyStatus, KeyType } from './key-types.js'
import { statusExpr } from './repo.js'

export interface StatusCount {
  type: KeyType
  status: KeyStatus
  count: number
}

export async function countByTypeAndStatus(q: Queryable, now: Date): Promise<StatusCount[]> {
  const rows = await q`
    select key_type, ${statusExpr(q, now)} as status, count(*)::int as n
    from api_keys group by 1, 2 order by 1, 2`
  return rows.map((r) => ({ type: r.key_type, status: r.status, count: r.n }))
}

export interface LifecycleCounts {
  expiringIn7Days: number
  expiringIn30Days: number
  rotationDue: number
  openAnomalies: number
  /** From the per-minute usage table: the minutes that start in the 24 h up to now. */
  validationsLast24h: number
  failuresLast24h: number
}

export async function lifecycleCounts(q: Queryable, now: Date): Promise<LifecycleCounts> {
  const in7 = new Date(now.getTime() + 7 * 86_400_000)
  const in30 = new Date(now.getTime() + 30 * 86_400_000)
  const day = new Date(now.getTime() - 86_400_000)
  const [row] = await q`
    select
      (select count(*)::int from api_keys where revoked_at is null and enabled
         and expires_at > ${now} and expires_at <= ${in7}) as in7,
      (select count(*)::int from api_keys where revoked_at is null and enabled
         and expires_at > ${now} and expires_at <= ${in30}) as in30,
      (select count(*)::int from api_keys where rotate_every_seconds is not null and replaced_by is null
         and revoked_at is null and enabled and (expires_at is null or expires_at > ${now})
         and created_at + make_interval(secs => rotate_every_seconds) <= ${now}) as due,
      (select count(*)::int from api_key_anomalies where status <> 'resolved') as anomalies,
      (select coalesce(sum(ok_count::int8 + fail_count), 0)::float8 from key_usage_minute where minute >= ${day} and minute <= ${now}) as uses,
      (select coalesce(sum(fail_count), 0)::float8 from key_usage_minute where minute >= ${day} and minute <= ${now}) as fails`
  return {
    expiringIn7Days: row!.in7,
    expiringIn30Days: row!.in30,
    rotationDue: row!.due,
    openAnomalies: row!.anomalies,
    validationsLast24h: row!.uses,
    failuresLast24h: row!.fails,
  }
}

