import type { Queryable } from '../db/connect.js'

export interface BlacklistRecord {
  id: string
  network: string
  reason: string | null
  createdAt: Date
  createdBy: string
  expiresAt: Date | null
}

const toRecord = (r: Record<string, any>): BlacklistRecord => ({
  id: String(r.id),
  network: r.network,
  reason: r.reason,
  createdAt: r.created_at,
  createdBy: r.created_by,
  expiresAt: r.expires_at,
})

/** Insert, or refresh the reason/expiry of an existing entry for the same network. */
export async function upsertEntry(
  q: Queryable,
  e: { cidr: string; reason: string | null; createdAt: Date; createdBy: string; expiresAt: Date | null },
): Promise<BlacklistRecord & { created: boolean }> {
  const [row] = await q`
    insert into ip_blacklist (network, reason, created_at, created_by, expires_at)
    values (network(${e.cidr}::inet), ${e.reason}, ${e.createdAt}, ${e.createdBy}, ${e.expiresAt})
    on conflict (network) do update set reason = excluded.reason, expires_at = excluded.expires_at
    returning id, network::text, reason, created_at, created_by, expires_at, (xmax = 0) as created`
  return { ...toRecord(row!), created: row!.created }
}

export async function deleteEntry(q: Queryable, cidr: string): Promise<BlacklistRecord | undefined> {
  const [row] = await q`
    delete from ip_blacklist where network = network(${cidr}::inet)
    returning id, network::text, reason, created_at, created_by, expires_at`
  return row ? toRecord(row) : undefined
}

/** Entries in force at `now` (expired ones are kept for the record but ignored). */
export async function activeEntries(q: Queryable, now: Date): Promise<BlacklistRecord[]> {
  const rows = await q`
    select id, network::text, reason, created_at, created_by, expires_at from ip_blacklist
    where expires_at is null or expires_at > ${now} order by network`
  return rows.map(toRecord)
}

export async function allEntries(q: Queryable): Promise<BlacklistRecord[]> {
  const rows = await q`select id, network::text, reason, created_at, created_by, expires_at from ip_blacklist order by network`
  return rows.map(toRecord)
}

/** The entry in force that contains `ip`, if any (PostgreSQL `>>=` containment). */
export async function findContaining(q: Queryable, ip: string, now: Date): Promise<BlacklistRecord | undefined> {
  const [row] = await q`
    select id, network::text, reason, created_at, created_by, expires_at from ip_blacklist
    where network >>= ${ip}::inet and (expires_at is null or expires_at > ${now})
    order by masklen(network) desc limit 1`
  return row ? toRecord(row) : undefined
}
