import type { AnomalyType, Severity } from '../anomalies/anomaly-view.js'
import { statusExpr } from '../api-keys/repo.js'
import type { StoredAuditRow } from '../audit/repo.js'
import { storedAuditRow } from '../audit/repo.js'
import type { Queryable } from '../db/connect.js'
import type { InvalidCode } from '../validation/invalid-codes.js'
import { FOLDED_SOURCE } from '../usage/usage-recorder.js'

// Every query here reads one window of the per-minute failure table (a range scan of its
// primary key, which leads with the minute) or small tables, and returns sums: no per-minute row
// reaches this process. Sums are float8 (exact far past 2^31, as `api-key stats` does);
// addresses sort bytewise (collate "C"), as the caller's string comparisons do.

export interface FailureTotals {
  /** Per UTC day offset and code. */
  perDay: { day: number; code: InvalidCode; count: number }[]
  failuresOfKnownKeys: number
  withoutSource: number
  folded: number
}

export async function failureTotals(q: Queryable, from: Date, until: Date, firstDay: string): Promise<FailureTotals> {
  const rows = await q`
    select ((minute at time zone 'UTC')::date - ${firstDay}::date) as d, code, sum(count)::float8 as n,
           sum(count) filter (where key_id <> '')::float8 as known,
           sum(count) filter (where ip = '')::float8 as no_source,
           sum(count) filter (where ip = ${FOLDED_SOURCE})::float8 as folded
    from validation_failure_minute
    where minute >= ${from} and minute < ${until}
    group by 1, 2`
  let [known, withoutSource, folded] = [0, 0, 0]
  for (const r of rows) {
    known += r.known ?? 0
    withoutSource += r.no_source ?? 0
    folded += r.folded ?? 0
  }
  return { perDay: rows.map((r) => ({ day: r.d, code: r.code, count: r.n })), failuresOfKnownKeys: known, withoutSource, folded }
}

export interface SourceRow {
  ip: string
  count: number
  byCode: Partial<Record<InvalidCode, number>>
  lastAt: Date
}

/**
 * The `limit` source IPs with most failures in the window (then by address), and how many
 * other addresses failed and how often. '' (no source) and the folded catch-all are not
 * addresses and are left to the caller's totals.
 */
export async function failuresBySource(q: Queryable, from: Date, until: Date, limit: number): Promise<{ top: SourceRow[]; others: { sources: number; count: number } }> {
  const rows = await q`
    with per_code as (
      select ip, code, sum(count)::float8 as n, max(minute) as last_at
      from validation_failure_minute
      where minute >= ${from} and minute < ${until} and ip <> '' and ip <> ${FOLDED_SOURCE}
      group by 1, 2
    ), per_ip as (
      select ip, sum(n)::float8 as count, jsonb_object_agg(code, n) as by_code, max(last_at) as last_at,
             row_number() over (order by sum(n) desc, ip collate "C") as rank
      from per_code group by ip
    )
    select ip, count, by_code, last_at, null::float8 as sources from per_ip where rank <= ${limit}
    union all
    select null, coalesce(sum(count), 0)::float8, null, null, count(*)::float8 from per_ip where rank > ${limit}`
  const top = rows.filter((r) => r.sources === null).map((r) => ({ ip: r.ip, count: r.count, byCode: r.by_code, lastAt: r.last_at }))
  const rest = rows.find((r) => r.sources !== null)
  top.sort((a, b) => b.count - a.count || (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0))
  return { top, others: { sources: rest?.sources ?? 0, count: rest?.count ?? 0 } }
}

export interface BlacklistHitRow {
  ip: string
  count: number
  network: string | null
  lastAt: Date
}

/**
 * Sources refused as BLACKLISTED in the window, most first (then by address), at most `limit`,
 * each with the most specific blacklist entry in force at `now` that contains it (null: none
 * does any more). Sources that are not addresses never match (momentry_try_inet).
 */
export async function blacklistHits(q: Queryable, from: Date, until: Date, now: Date, limit: number): Promise<BlacklistHitRow[]> {
  const rows = await q`
    with hits as (
      select ip, sum(count)::float8 as count, max(minute) as last_at
      from validation_failure_minute
      where minute >= ${from} and minute < ${until} and code = 'BLACKLISTED' and momentry_try_inet(ip) is not null
      group by ip
      order by 2 desc, ip collate "C"
      limit ${limit}
    )
    select h.ip, h.count, h.last_at, b.network::text as network
    from hits h
    left join lateral (
      select network from ip_blacklist
      where network >>= momentry_try_inet(h.ip) and (expires_at is null or expires_at > ${now})
      order by masklen(network) desc limit 1
    ) b on true
    order by h.count desc, h.ip collate "C"`
  return rows.map((r) => ({ ip: r.ip, count: r.count, network: r.network, lastAt: r.last_at }))
}

/** `ip.lockout` audit rows in the window: how many, and the newest `limit`, details still sealed. */
export async function lockoutRows(q: Queryable, from: Date, until: Date, limit: number): Promise<{ total: number; newest: StoredAuditRow[] }> {
  const [count] = await q`select count(*)::float8 as n from api_key_audit_log where action = 'ip.lockout' and created_at >= ${from} and created_at < ${until}`
  const rows = await q`
    select seq, created_at, actor, action, target, key_id, host(ip_address) as ip, audit_key_id, nonce, ciphertext, legacy_details
    from api_key_audit_log
    where action = 'ip.lockout' and created_at >= ${from} and created_at < ${until}
    order by created_at desc, seq desc
    limit ${limit}`
  return {
    total: count!.n,
    newest: rows.map(storedAuditRow),
  }
}

/** Anomalies first seen in the window, per UTC day offset, type and severity. */
export async function anomalyCounts(q: Queryable, from: Date, until: Date, firstDay: string): Promise<{ day: number; type: AnomalyType; severity: Severity; count: number }[]> {
  const rows = await q`
    select ((first_seen_at at time zone 'UTC')::date - ${firstDay}::date) as d, anomaly_type, severity, count(*)::int as n
    from api_key_anomalies
    where first_seen_at >= ${from} and first_seen_at < ${until}
    group by 1, 2, 3`
  return rows.map((r) => ({ day: r.d, type: r.anomaly_type, severity: r.severity, count: r.n }))
}

export interface OpenAnomalyRow {
  id: string
  keyId: string
  keyName: string
  type: AnomalyType
  severity: Severity
  status: string
  firstSeenAt: Date
  lastSeenAt: Date
  count: number
}

/** Anomalies not resolved now, most recently seen first, at most `limit`. */
export async function openAnomalies(q: Queryable, limit: number): Promise<OpenAnomalyRow[]> {
  const rows = await q`
    select a.anomaly_id, a.key_id, k.name, a.anomaly_type, a.severity, a.status, a.first_seen_at, a.last_seen_at, a.count
    from api_key_anomalies a join api_keys k on k.key_id = a.key_id
    where a.status <> 'resolved'
    order by a.last_seen_at desc, a.id desc
    limit ${limit}`
  return rows.map((r) => ({
    id: r.anomaly_id,
    keyId: r.key_id,
    keyName: r.name,
    type: r.anomaly_type,
    severity: r.severity,
    status: r.status,
    firstSeenAt: r.first_seen_at,
    lastSeenAt: r.last_seen_at,
    count: r.count,
  }))
}

export interface LiveKeyRow {
  keyId: string
  name: string
  type: string
  owner: string | null
  status: string
  createdAt: Date
  expiresAt: Date | null
  rotateEverySeconds: number | null
  /** Past its rotation interval by the rule `api-key stats` counts (`lifecycleCounts.rotationDue`). */
  rotationDue: boolean
}

/** Keys whose status at `now` is active, rotating or disabled, oldest first. */
export async function liveKeys(q: Queryable, now: Date): Promise<LiveKeyRow[]> {
  const rows = await q`
    select * from (
      select id, key_id, name, key_type, owner, created_at, expires_at, rotate_every_seconds, ${statusExpr(q, now)} as status,
        (rotate_every_seconds is not null and replaced_by is null and revoked_at is null and enabled
          and (expires_at is null or expires_at > ${now})
          and created_at + make_interval(secs => rotate_every_seconds) <= ${now}) as due
      from api_keys
    ) k
    where status in ('active', 'rotating', 'disabled')
    order by created_at, id`
  return rows.map((r) => ({
    keyId: r.key_id,
    name: r.name,
    type: r.key_type,
    owner: r.owner,
    status: r.status,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    rotateEverySeconds: r.rotate_every_seconds,
    rotationDue: r.due,
  }))
}
