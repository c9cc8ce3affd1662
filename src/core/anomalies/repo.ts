import type { Queryable } from '../db/connect.js'
import type { AnomalyStatus, AnomalyType, AnomalyView, Severity } from './anomaly-view.js'
import type { Detection } from './detectors.js'

export const ANOMALY_COLUMNS = `anomaly_id, key_id, anomaly_type, severity, observed, threshold, window_seconds,
  first_seen_at, last_seen_at, count, status, details, acknowledged_at, acknowledged_by, resolved_at, resolved_by, resolution_note`

/** The columns plus the key's name (`key_name`, null once cleanup purged the key), for a statement on `table` (its name or alias). */
const columnsWithName = (table: 'a' | 'api_key_anomalies') => `${ANOMALY_COLUMNS}, (select k.name from api_keys k where k.key_id = ${table}.key_id) as key_name`

export function toAnomalyView(r: Record<string, any>): AnomalyView {
  return {
    id: r.anomaly_id,
    keyId: r.key_id,
    keyName: r.key_name ?? null,
    type: r.anomaly_type,
    severity: r.severity,
    observed: r.observed,
    threshold: r.threshold,
    windowSeconds: r.window_seconds,
    firstSeenAt: r.first_seen_at.toISOString(),
    lastSeenAt: r.last_seen_at.toISOString(),
    count: r.count,
    status: r.status,
  }
}

/**
 * Record a detection: a new open anomaly, or — when one is already open or acknowledged
 * for this key and type — one more occurrence of it (count + 1, latest observation, the
 * higher severity). Returns the row, whether it is new, and the severity it had before
 * (null when new). Call it in a transaction: the open row is locked first, so of two
 * processes bumping it at once the second sees the first's severity as the one before.
 */
export async function upsertAnomaly(
  q: Queryable,
  id: string,
  keyId: string,
  d: Detection,
  at: Date,
): Promise<{ row: Record<string, any>; created: boolean; previousSeverity: Severity | null }> {
  // A statement of its own: inside the upsert, the lock would be taken (and the row read) after the update.
  const [previous] = await q<{ severity: Severity }[]>`
    select severity from api_key_anomalies where key_id = ${keyId} and anomaly_type = ${d.type} and status <> 'resolved' for update`
  const [row] = await q`
    insert into api_key_anomalies as a (anomaly_id, key_id, anomaly_type, severity, observed, threshold, window_seconds, details, first_seen_at, last_seen_at)
    values (${id}, ${keyId}, ${d.type}, ${d.severity}, ${d.observed}, ${d.threshold}, ${d.windowSeconds}, ${q.json(d.details as never)}, ${at}, ${at})
    on conflict (key_id, anomaly_type) where status <> 'resolved' do update set
      count = a.count + 1,
      last_seen_at = excluded.last_seen_at,
      observed = excluded.observed,
      details = excluded.details,
      severity = case when array_position(array['low','medium','high','critical'], excluded.severity)
                         > array_position(array['low','medium','high','critical'], a.severity)
                      then excluded.severity else a.severity end
    returning ${q.unsafe(columnsWithName('a'))}, (xmax = 0) as created`
  // Bumped, with no open row seen before: another process opened it a moment ago, at a severity
  // not known here, so no rise is claimed.
  const previousSeverity = row!.created ? null : ((previous?.severity ?? row!.severity) as Severity)
  return { row: row!, created: row!.created, previousSeverity }
}

export interface AnomalyFilter {
  keyId?: string
  type?: AnomalyType
  severity?: Severity
  status?: AnomalyStatus
  since?: Date
  limit: number
}

/** Anomalies, most recently seen first. */
export async function selectAnomalies(q: Queryable, f: AnomalyFilter): Promise<AnomalyView[]> {
  const rows = await q`
    select ${q.unsafe(columnsWithName('api_key_anomalies'))} from api_key_anomalies
    where true
      ${f.keyId ? q`and key_id = ${f.keyId}` : q``}
      ${f.type ? q`and anomaly_type = ${f.type}` : q``}
      ${f.severity ? q`and severity = ${f.severity}` : q``}
      ${f.status ? q`and status = ${f.status}` : q``}
      ${f.since ? q`and last_seen_at >= ${f.since}` : q``}
    order by last_seen_at desc, id desc
    limit ${f.limit}`
  return rows.map(toAnomalyView)
}

/** Mark an anomaly acknowledged (or resolved, with a note) by `actor`; returns the row. */
export async function markHandled(q: Queryable, id: string, change: 'acknowledge' | 'resolve', actor: string, at: Date, note: string | null): Promise<Record<string, any>> {
  const [row] =
    change === 'acknowledge'
      ? await q`update api_key_anomalies set status = 'acknowledged', acknowledged_at = ${at}, acknowledged_by = ${actor}
                where anomaly_id = ${id} returning ${q.unsafe(columnsWithName('api_key_anomalies'))}`
      : await q`update api_key_anomalies set status = 'resolved', resolved_at = ${at}, resolved_by = ${actor}, resolution_note = ${note}
                where anomaly_id = ${id} returning ${q.unsafe(columnsWithName('api_key_anomalies'))}`
  return row!
}

export async function findAnomaly(q: Queryable, id: string, options: { forUpdate?: boolean } = {}): Promise<Record<string, any> | undefined> {
  const [row] = await q`select ${q.unsafe(columnsWithName('api_key_anomalies'))} from api_key_anomalies where anomaly_id = ${id} ${options.forUpdate ? q`for update` : q``}`
  return row
}

export interface WindowCounts {
  minuteTotal: number
  windowOk: number
  windowFail: number
}

/** Per key: validations in the current minute, ok/fail over the error window. One query for all keys. */
export async function windowCounts(q: Queryable, keyIds: string[], minute: Date, windowStart: Date): Promise<Map<string, WindowCounts>> {
  const rows = await q`
    select key_id,
           coalesce(sum(ok_count + fail_count) filter (where minute = ${minute}), 0)::int as minute_total,
           coalesce(sum(ok_count), 0)::int as ok, coalesce(sum(fail_count), 0)::int as fail
    from key_usage_minute
    where key_id = any(${keyIds}::text[]) and minute >= ${windowStart} and minute <= ${minute}
    group by key_id`
  return new Map(rows.map((r) => [r.key_id as string, { minuteTotal: r.minute_total, windowOk: r.ok, windowFail: r.fail }]))
}

/** Uses per local hour of day over the 30 days before `until`, and the days since the first. */
export async function usageByHour(q: Queryable, keyId: string, until: Date, timeZone: string) {
  const since = new Date(until.getTime() - 30 * 86_400_000)
  const rows = await q`
    select extract(hour from minute at time zone ${timeZone})::int as hour, sum(ok_count + fail_count)::int as n, min(minute) as first
    from key_usage_minute where key_id = ${keyId} and minute >= ${since} and minute < ${until}
    group by 1`
  const byHour = Array.from({ length: 24 }, () => 0)
  let total = 0
  let first = until.getTime()
  for (const r of rows) {
    byHour[r.hour] = r.n
    total += r.n
    first = Math.min(first, r.first.getTime())
  }
  return { byHour, total, days: (until.getTime() - first) / 86_400_000 }
}
