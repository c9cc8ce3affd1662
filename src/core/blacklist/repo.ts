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

/** What `cidr` names once its host bits are cleared, and whether it had any (`198.51.100.5/24`). */
export async function canonicalNetwork(q: Queryable, cidr: string): Promise<{ network: string; hostBits: boolean }> {
  const [row] = await q`select network(${cidr}::inet)::text as network, ${cidr}::inet <> network(${cidr}::inet) as host_bits`
  return { network: row!.network, hostBits: row!.host_bits }
}

/** Insert an entry; undefined when the network is listed already (then lock and update that one). */
export async function insertEntry(
  q: Queryable,
  e: { cidr: string; reason: string | null; createdAt: Date; createdBy: string; expiresAt: Date | null },
): Promise<BlacklistRecord | undefined> {
  const [row] = await q`
    insert into ip_blacklist (network, reason, created_at, created_by, expires_at)
    values (network(${e.cidr}::inet), ${e.reason}, ${e.createdAt}, ${e.createdBy}, ${e.expiresAt})
    on conflict (network) do nothing
    returning id, network::text, reason, created_at, created_by, expires_at`
  return row ? toRecord(row) : undefined
}

/** The entry for exactly this network, locked for the rest of the transaction. */
export async function lockEntry(q: Queryable, cidr: string): Promise<BlacklistRecord | undefined> {
  const [row] = await q`
    select id, network::text, reason, created_at, created_by, expires_at from ip_blacklist
    where network = network(${cidr}::inet) for update`
  return row ? toRecord(row) : undefined
}

export async function updateEntry(q: Queryable, id: string, e: { reason: string | null; expiresAt: Date | null }): Promise<BlacklistRecord> {
  const [row] = await q`
    update ip_blacklist set reason = ${e.reason}, expires_at = ${e.expiresAt} where id = ${id}
    returning id, network::text, reason, created_at, created_by, expires_at`
  return toRecord(row!)
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
