import type { KeyStatus } from '../api-keys/key-types.js'
import { KEY_STATUSES } from '../api-keys/key-types.js'
import { countByTypeAndStatus, lifecycleCounts } from '../api-keys/stats-repo.js'
import { verifyAudit } from '../audit/audit-trail.js'
import type { BrokenLink } from '../audit/verify-chain.js'
import type { CoreContext } from '../context.js'

/** What the top of every HTML report says: the state of the whole installation now. */
export interface ReportSummary {
  generatedAt: string
  keys: { total: number; byStatus: Record<KeyStatus, number> }
  /** Live keys past their `--rotate-every` interval (as `api-key stats` counts them). */
  rotationOverdue: number
  expiringIn7Days: number
  expiringIn30Days: number
  /** Anomalies not resolved (open or acknowledged). */
  openAnomalies: number
  /** The result of `audit verify` (no checkpoint given): the chain re-walked when the report was made. */
  audit: { ok: boolean; rows: number; headSeq: number; broken: BrokenLink | null; epochs: number }
}

export async function buildReportSummary(ctx: CoreContext): Promise<ReportSummary> {
  const now = ctx.clock.now()
  const [cells, lifecycle, audit] = await Promise.all([countByTypeAndStatus(ctx.sql, now), lifecycleCounts(ctx.sql, now), verifyAudit(ctx, { checkpoints: [] })])
  const byStatus = Object.fromEntries(KEY_STATUSES.map((s) => [s, 0])) as Record<KeyStatus, number>
  let total = 0
  for (const c of cells) {
    byStatus[c.status] += c.count
    total += c.count
  }
  return {
    generatedAt: now.toISOString(),
    keys: { total, byStatus },
    rotationOverdue: lifecycle.rotationDue,
    expiringIn7Days: lifecycle.expiringIn7Days,
    expiringIn30Days: lifecycle.expiringIn30Days,
    openAnomalies: lifecycle.openAnomalies,
    audit: { ok: audit.ok, rows: audit.rows, headSeq: audit.head.seq, broken: audit.broken, epochs: audit.epochs.length },
  }
}
