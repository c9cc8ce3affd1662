import type { Queryable } from '../db/connect.js'
import { toAnomalyView } from '../anomalies/repo.js'
import type { AnomalyView } from '../anomalies/anomaly-view.js'

export interface AnomalyWithKey extends AnomalyView {
  keyName: string
}

/** Open and acknowledged anomalies with their key's name, most recently seen first. */
export async function unresolvedAnomalies(q: Queryable, limit: number): Promise<AnomalyWithKey[]> {
  const rows = await q`
    select a.*, k.name as key_name
    from api_key_anomalies a join api_keys k on k.key_id = a.key_id
    where a.status <> 'resolved'
    order by a.last_seen_at desc, a.id desc
    limit ${limit}`
  return rows.map((r) => ({ ...toAnomalyView(r), keyName: r.key_name }))
}

/** Anomalies first seen or seen again after `since`, oldest first (the polling feed). */
export async function anomaliesSeenSince(q: Queryable, since: Date, limit: number): Promise<AnomalyWithKey[]> {
  const rows = await q`
    select a.*, k.name as key_name
    from api_key_anomalies a join api_keys k on k.key_id = a.key_id
    where a.last_seen_at > ${since}
    order by a.last_seen_at, a.id
    limit ${limit}`
  return rows.map((r) => ({ ...toAnomalyView(r), keyName: r.key_name }))
}

export interface AnomalyCount {
  type: string
  severity: string
  count: number
}

export async function countUnresolved(q: Queryable): Promise<AnomalyCount[]> {
  const rows = await q`
    select anomaly_type, severity, count(*)::int as n from api_key_anomalies
    where status <> 'resolved' group by anomaly_type, severity`
  return rows.map((r) => ({ type: r.anomaly_type, severity: r.severity, count: r.n }))
}

export interface MinuteTotals {
  minute: Date
  ok: number
  fail: number
}

export async function validationsPerMinute(q: Queryable, since: Date): Promise<MinuteTotals[]> {
  const rows = await q`
    select minute, sum(ok_count)::int as ok, sum(fail_count)::int as fail
    from key_usage_minute where minute >= ${since}
    group by minute order by minute`
  return rows.map((r) => ({ minute: r.minute, ok: r.ok, fail: r.fail }))
}

export interface KeyTraffic {
  keyId: string
  name: string | null
  total: number
  failures: number
}

/** The busiest keys since `since`, by all validations or by failures only. */
export async function topKeys(q: Queryable, since: Date, by: 'total' | 'failures', limit: number): Promise<KeyTraffic[]> {
  const rows = await q`
    select u.key_id, k.name, sum(u.ok_count + u.fail_count)::int as total, sum(u.fail_count)::int as failures
    from key_usage_minute u left join api_keys k on k.key_id = u.key_id
    where u.minute >= ${since}
    group by u.key_id, k.name
    ${by === 'failures' ? q`having sum(u.fail_count) > 0 order by failures desc, total desc` : q`order by total desc, failures desc`}, u.key_id
    limit ${limit}`
  return rows.map((r) => ({ keyId: r.key_id, name: r.name, total: r.total, failures: r.failures }))
}
