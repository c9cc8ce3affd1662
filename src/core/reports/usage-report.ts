import type { CoreContext } from '../context.js'
import { UsageError } from '../errors.js'
import { readableTime } from '../time-text.js'
import { reportKeys, usageByKeyAndDay } from './usage-repo.js'

const DAY_MS = 86_400_000
/** The longest window a report covers: usage older than the default retention is purged anyway. */
export const MAX_REPORT_DAYS = 400

/** One key's validations in the window. Keys purged since keep their usage, with null details. */
export interface UsageReportKey {
  keyId: string
  /** null: the key was purged by `api-key cleanup` (usage outlives keys, as the audit log does). */
  name: string | null
  type: string | null
  owner: string | null
  /** Status at `generatedAt`; null for a purged key. */
  status: string | null
  createdAt: string | null
  ok: number
  failed: number
  total: number
  /** The minute of the last recorded validation (ok or failed) before `until`, even before `since`. */
  lastUsedAt: string | null
  /** Per day, aligned with `UsageReport.days`. */
  daily: { ok: number[]; failed: number[] }
}

export interface UsageReport {
  generatedAt: string
  /** The window is [since, until). */
  since: string
  until: string
  /** Every UTC day the window touches (`YYYY-MM-DD`), oldest first. */
  days: string[]
  totals: {
    validations: number
    ok: number
    failed: number
    /** Keys in the report: created before `until`, not ended before `since`, or used in the window. */
    keys: number
    keysUsed: number
    keysNeverUsed: number
  }
  /** All keys together, one entry per day of `days`. */
  perDay: { day: string; ok: number; failed: number }[]
  /** Every key of the report, busiest (most validations) first, then by id. */
  keys: UsageReportKey[]
  /** The ten busiest keys with any use. */
  busiest: { keyId: string; name: string | null; ok: number; failed: number; total: number }[]
  /** Keys without a single validation in the window, by id. */
  neverUsed: { keyId: string; name: string | null; type: string | null; owner: string | null; status: string | null; createdAt: string | null; lastUsedAt: string | null }[]
}

export interface UsageReportOptions {
  /** Start of the window (inclusive). */
  since: Date
  /** End of the window (exclusive); default now. */
  until?: Date
}

const utcDay = (d: Date) => d.toISOString().slice(0, 10)

/**
 * Validations per key per UTC day over [since, until), summed in PostgreSQL from the per-minute
 * table; busiest keys, keys never used in the window and each key's last use. Failures are a
 * total: the per-minute table records no failure code (see docs/decisions.md).
 */
export async function buildUsageReport(ctx: CoreContext, options: UsageReportOptions): Promise<UsageReport> {
  const now = ctx.clock.now()
  const until = options.until ?? now
  const since = options.since
  if (Number.isNaN(since.getTime()) || Number.isNaN(until.getTime())) throw new UsageError('--since/--until: not a valid time', 'Give e.g. --since 30d --until 2027-01-31')
  if (since.getTime() >= until.getTime()) {
    throw new UsageError(`--since (${readableTime(since)}) is not before --until (${readableTime(until)})`, 'Give a start before the end, e.g. --since 30d')
  }
  const firstDay = utcDay(since)
  const dayCount = Math.round((Date.parse(utcDay(new Date(until.getTime() - 1))) - Date.parse(firstDay)) / DAY_MS) + 1
  if (dayCount > MAX_REPORT_DAYS) throw new UsageError(`the window covers ${dayCount} days, more than ${MAX_REPORT_DAYS}`, 'Give a shorter --since, e.g. 90d')
  const days = Array.from({ length: dayCount }, (_, i) => utcDay(new Date(Date.parse(firstDay) + i * DAY_MS)))

  // One snapshot: a usage flush between the two reads cannot make a key's counts and last use disagree.
  const { usage, known } = await ctx.sql.begin('isolation level repeatable read read only', async (tx) => ({
    usage: await usageByKeyAndDay(tx, since, until, firstDay),
    known: await reportKeys(tx, since, until, now),
  }))
  const zeros = () => new Array<number>(dayCount).fill(0)
  const byId = new Map<string, UsageReportKey>()
  for (const k of known) {
    byId.set(k.keyId, {
      keyId: k.keyId,
      name: k.name,
      type: k.type,
      owner: k.owner,
      status: k.status,
      createdAt: k.createdAt.toISOString(),
      ok: 0,
      failed: 0,
      total: 0,
      lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
      daily: { ok: zeros(), failed: zeros() },
    })
  }
  const purged = (keyId: string): UsageReportKey => {
    const key: UsageReportKey = { keyId, name: null, type: null, owner: null, status: null, createdAt: null, ok: 0, failed: 0, total: 0, lastUsedAt: null, daily: { ok: zeros(), failed: zeros() } }
    byId.set(keyId, key)
    return key
  }
  const perDayOk = zeros()
  const perDayFailed = zeros()
  for (const u of usage) {
    const key = byId.get(u.keyId) ?? purged(u.keyId)
    u.days.forEach((d, i) => {
      const [okCount, failCount] = [u.ok[i]!, u.failed[i]!]
      key.daily.ok[d] = okCount
      key.daily.failed[d] = failCount
      key.ok += okCount
      key.failed += failCount
      perDayOk[d] = perDayOk[d]! + okCount
      perDayFailed[d] = perDayFailed[d]! + failCount
    })
    key.total = key.ok + key.failed
    key.lastUsedAt ??= u.lastUsedAt.toISOString()
  }

  const keys = [...byId.values()].sort((a, b) => b.total - a.total || (a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : 0))
  const used = keys.filter((k) => k.total > 0)
  const ok = perDayOk.reduce((n, v) => n + v, 0)
  const failed = perDayFailed.reduce((n, v) => n + v, 0)
  return {
    generatedAt: now.toISOString(),
    since: since.toISOString(),
    until: until.toISOString(),
    days,
    totals: { validations: ok + failed, ok, failed, keys: keys.length, keysUsed: used.length, keysNeverUsed: keys.length - used.length },
    perDay: days.map((day, i) => ({ day, ok: perDayOk[i]!, failed: perDayFailed[i]! })),
    keys,
    busiest: used.slice(0, 10).map((k) => ({ keyId: k.keyId, name: k.name, ok: k.ok, failed: k.failed, total: k.total })),
    neverUsed: keys
      .filter((k) => k.total === 0)
      .map((k) => ({ keyId: k.keyId, name: k.name, type: k.type, owner: k.owner, status: k.status, createdAt: k.createdAt, lastUsedAt: k.lastUsedAt })),
  }
}
