import type { Queryable, Sql } from '../db/connect.js'

/** One address's failures in its current window, and how long that window still runs. */
export interface FailureWindow {
  attempts: number
  msLeft: number
}

/**
 * Count one failure from `ip` atomically (the row lock of the upsert orders concurrent
 * callers): a window that has run out starts again at 1 for `windowSeconds`.
 */
export async function countFailure(sql: Sql, ip: string, windowSeconds: number): Promise<FailureWindow> {
  const [row] = await sql<{ attempts: number; ms_left: number }[]>`
    insert into ip_failures as f (ip, attempts, window_ends) values (${ip}, 1, now() + make_interval(secs => ${windowSeconds}))
    on conflict (ip) do update set
      attempts = case when f.window_ends <= now() then 1 else f.attempts + 1 end,
      window_ends = case when f.window_ends <= now() then excluded.window_ends else f.window_ends end
    returning attempts, (extract(epoch from window_ends - now()) * 1000)::float8 as ms_left`
  return { attempts: row!.attempts, msLeft: row!.ms_left }
}

/** The address's current window, if one is running. */
export async function currentFailures(sql: Sql, ip: string): Promise<FailureWindow | undefined> {
  const [row] = await sql<{ attempts: number; ms_left: number }[]>`
    select attempts, (extract(epoch from window_ends - now()) * 1000)::float8 as ms_left from ip_failures where ip = ${ip} and window_ends > now()`
  return row && { attempts: row.attempts, msLeft: row.ms_left }
}

/** Lock the address for `seconds` from now (its count stays where it is). */
export async function extendWindow(sql: Sql, ip: string, seconds: number): Promise<void> {
  await sql`update ip_failures set window_ends = now() + make_interval(secs => ${seconds}) where ip = ${ip}`
}

export async function forgetFailures(sql: Sql, ip: string): Promise<void> {
  await sql`delete from ip_failures where ip = ${ip}`
}

/** Forget the address's failures, returning the window they were in (msLeft ≤ 0: it had run out). */
export async function takeFailures(sql: Queryable, ip: string): Promise<FailureWindow | undefined> {
  const [row] = await sql<{ attempts: number; ms_left: number }[]>`
    delete from ip_failures where ip = ${ip} returning attempts, (extract(epoch from window_ends - now()) * 1000)::float8 as ms_left`
  return row && { attempts: row.attempts, msLeft: row.ms_left }
}

/** Addresses at or over `maxAttempts` whose window still runs. */
export async function lockedOutAddresses(sql: Sql, maxAttempts: number): Promise<{ ip: string; retryAfterSeconds: number }[]> {
  const rows = await sql<{ ip: string; seconds: number }[]>`
    select ip, ceil(extract(epoch from window_ends - now()))::int as seconds
    from ip_failures where attempts >= ${maxAttempts} and window_ends > now() order by ip`
  return rows.map((r) => ({ ip: r.ip, retryAfterSeconds: Math.max(1, r.seconds) }))
}

/** Drop windows that ended over a day ago (the table holds one row per address that failed). */
export async function pruneFailures(sql: Sql): Promise<void> {
  await sql`delete from ip_failures where window_ends < now() - interval '1 day'`
}
