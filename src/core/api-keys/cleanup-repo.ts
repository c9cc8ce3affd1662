import type { Queryable } from '../db/connect.js'
import type { KeyType } from './key-types.js'

/** Why a key is due for purging: it stopped validating by revocation, expiry or rotation. */
export type PurgeReason = 'revoked' | 'expired' | 'rotated'

export interface PurgeableKey {
  keyId: string
  name: string
  type: KeyType
  reason: PurgeReason
  /** When it stopped validating: the earliest of revoked_at, expires_at and grace_expires_at. */
  endedAt: Date
}

/**
 * Keys that stopped validating before `cutoff`, split into those that may go and those kept
 * because a key that stays names them as its successor (`replaced_by`), following the chain:
 * deleting one would null that link and make a rotated key look never rotated (it could be
 * rotated again, and `rotate --due` would pick it up).
 */
export async function selectPurgeableKeys(q: Queryable, cutoff: Date): Promise<{ purge: PurgeableKey[]; keptAsSuccessor: string[] }> {
  const rows = await q`
    with recursive due as (
      select key_id from api_keys where least(revoked_at, expires_at, grace_expires_at) < ${cutoff}
    ), successor (key_id) as (
      select replaced_by from api_keys where replaced_by is not null and key_id not in (select key_id from due)
      union
      select k.replaced_by from api_keys k join successor s on k.key_id = s.key_id where k.replaced_by is not null
    )
    select key_id, name, key_type, least(revoked_at, expires_at, grace_expires_at) as ended_at,
      case when replaced_by is not null then 'rotated' when revoked_at is not null then 'revoked' else 'expired' end as reason,
      key_id in (select key_id from successor) as kept
    from api_keys where key_id in (select key_id from due)
    order by id`
  const purge: PurgeableKey[] = []
  const keptAsSuccessor: string[] = []
  for (const r of rows) {
    if (r.kept) keptAsSuccessor.push(r.key_id)
    else purge.push({ keyId: r.key_id, name: r.name, type: r.key_type, reason: r.reason, endedAt: r.ended_at })
  }
  return { purge, keptAsSuccessor }
}

/** Row-lock the keys about to go: no anomaly can be recorded for them until the purge commits. */
export async function lockKeys(q: Queryable, keyIds: string[]): Promise<void> {
  if (keyIds.length) await q`select 1 from api_keys where key_id = any(${keyIds}::text[]) order by id for update`
}

export interface PurgeableAnomaly {
  anomalyId: string
  keyId: string
  type: string
  status: string
  /** `resolved` past retention, or `key-purged`: it belongs to a key that goes (any status). */
  reason: 'resolved' | 'key-purged'
  resolvedAt: Date | null
}

/** Anomalies resolved before `cutoff`, and every anomaly of the keys that go (the foreign key would cascade them anyway). */
export async function selectPurgeableAnomalies(q: Queryable, cutoff: Date, keyIds: string[]): Promise<PurgeableAnomaly[]> {
  const rows = await q`
    select anomaly_id, key_id, anomaly_type, status, resolved_at,
      key_id = any(${keyIds}::text[]) as key_purged
    from api_key_anomalies
    where (status = 'resolved' and resolved_at < ${cutoff}) or key_id = any(${keyIds}::text[])
    order by id`
  return rows.map((r) => ({
    anomalyId: r.anomaly_id,
    keyId: r.key_id,
    type: r.anomaly_type,
    status: r.status,
    reason: r.key_purged ? 'key-purged' : 'resolved',
    resolvedAt: r.resolved_at,
  }))
}

/** Usage rows (per key) and failure rows (per code and source) older than `cutoff`. */
export async function countUsageBefore(q: Queryable, cutoff: Date): Promise<{ rows: number; failureRows: number }> {
  const [row] = await q`
    select (select count(*)::int from key_usage_minute where minute < ${cutoff}) as n,
           (select count(*)::int from validation_failure_minute where minute < ${cutoff}) as f`
  return { rows: row!.n as number, failureRows: row!.f as number }
}

export async function deleteAnomalies(q: Queryable, anomalyIds: string[]): Promise<number> {
  if (!anomalyIds.length) return 0
  return (await q`delete from api_key_anomalies where anomaly_id = any(${anomalyIds}::text[])`).count
}

/** Delete keys; a kept key's `rotated_from` naming one of them becomes null (ON DELETE SET NULL). */
export async function deleteKeys(q: Queryable, keyIds: string[]): Promise<number> {
  if (!keyIds.length) return 0
  return (await q`delete from api_keys where key_id = any(${keyIds}::text[])`).count
}

export async function deleteUsageBefore(q: Queryable, cutoff: Date): Promise<{ rows: number; failureRows: number }> {
  const rows = (await q`delete from key_usage_minute where minute < ${cutoff}`).count
  const failureRows = (await q`delete from validation_failure_minute where minute < ${cutoff}`).count
  return { rows, failureRows }
}

/** One cleanup at a time: a second waits for the first and then sees what is left. */
export async function lockCleanup(q: Queryable): Promise<void> {
  await q`select pg_advisory_xact_lock(hashtextextended('momentry:cleanup', 0))`
}
