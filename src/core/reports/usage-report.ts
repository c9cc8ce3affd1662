import type { CoreContext } from '../context.js'
import type { InvalidCode } from '../validation/invalid-codes.js'
import { INVALID_CODES } from '../validation/invalid-codes.js'
import { reportWindow } from './report-window.js'
import { failuresByKeyAndCode, reportKeys, usageByKeyAndDay } from './usage-repo.js'

export { MAX_REPORT_DAYS } from './report-window.js'

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
  /** null: no expiry, or a purged key. */
  expiresAt: string | null
  ok: number
  failed: number
  /**
   * The key's refusals in the window by the code answered (codes without one left out). Their
   * sum can be less than `failed`: failures a service reports (`recordUsage`) have no code.
   */
  failedByCode: Partial<Record<InvalidCode, number>>
  total: number
  /** The minute of the last recorded validation (ok or failed) before `until`, even before `since`. */
  lastUsedAt: string | null
  /** Per day, aligned with `UsageReport.days`; `failedByCode` holds the codes present only. */
  daily: { ok: number[]; failed: number[]; failedByCode: Partial<Record<InvalidCode, number[]>> }
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
    /** Refusals of the report's keys by code (see `UsageReportKey.failedByCode`). */
    failedByCode: Partial<Record<InvalidCode, number>>
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

/**
 * Validations per key per UTC day over [since, until), summed in PostgreSQL from the per-minute
 * tables; refusals by code, busiest keys, keys never used in the window and each key's last use.
 */
export async function buildUsageReport(ctx: CoreContext, options: UsageReportOptions): Promise<UsageReport> {
  const now = ctx.clock.now()
  const { since, until, firstDay, days } = reportWindow(options.since, options.until ?? now)
  const dayCount = days.length

  // One snapshot: a usage flush between the reads cannot make a key's counts, codes and last use disagree.
  const { usage, known, byCode } = await ctx.sql.begin('isolation level repeatable read read only', async (tx) => ({
    usage: await usageByKeyAndDay(tx, since, until, firstDay),
    known: await reportKeys(tx, since, until, now),
    byCode: await failuresByKeyAndCode(tx, since, until, firstDay),
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
      expiresAt: k.expiresAt?.toISOString() ?? null,
      ok: 0,
      failed: 0,
      failedByCode: {},
      total: 0,
      lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
      daily: { ok: zeros(), failed: zeros(), failedByCode: {} },
    })
  }
  const purged = (keyId: string): UsageReportKey => {
    const key: UsageReportKey = { keyId, name: null, type: null, owner: null, status: null, createdAt: null, expiresAt: null, ok: 0, failed: 0, failedByCode: {}, total: 0, lastUsedAt: null, daily: { ok: zeros(), failed: zeros(), failedByCode: {} } }
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
  const failedByCode: Partial<Record<InvalidCode, number>> = {}
  // Codes in INVALID_CODES order, so every key's (and the totals') JSON lists them alike.
  byCode.sort((a, b) => INVALID_CODES.indexOf(a.code) - INVALID_CODES.indexOf(b.code))
  for (const f of byCode) {
    // Written with the usage row in one statement, so the key is in `usage` (or a purged one).
    const key = byId.get(f.keyId) ?? purged(f.keyId)
    const daily = zeros()
    let n = 0
    f.days.forEach((d, i) => {
      daily[d] = f.counts[i]!
      n += f.counts[i]!
    })
    key.daily.failedByCode[f.code] = daily
    key.failedByCode[f.code] = n
    failedByCode[f.code] = (failedByCode[f.code] ?? 0) + n
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
    totals: { validations: ok + failed, ok, failed, failedByCode, keys: keys.length, keysUsed: used.length, keysNeverUsed: keys.length - used.length },
    perDay: days.map((day, i) => ({ day, ok: perDayOk[i]!, failed: perDayFailed[i]! })),
    keys,
    busiest: used.slice(0, 10).map((k) => ({ keyId: k.keyId, name: k.name, ok: k.ok, failed: k.failed, total: k.total })),
    neverUsed: keys
      .filter((k) => k.total === 0)
      .map((k) => ({ keyId: k.keyId, name: k.name, type: k.type, owner: k.owner, status: k.status, createdAt: k.createdAt, lastUsedAt: k.lastUsedAt })),
  }
}
