import type { CheckpointResult } from '../core/audit/audit-trail.js'
import type { AuditEvent } from '../core/audit/list-audit.js'
import type { VerifyReport } from '../core/audit/verify-chain.js'
import { paint } from './paint.js'
import type { Column } from './table.js'
import { renderTable, shortTime } from './table.js'
import { exactTime } from './time.js'

const detailsText = (d: Record<string, unknown> | null) =>
  d === null ? '(unreadable)' : Object.entries(d).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')

const AUDIT_COLUMNS: Column[] = [
  { head: 'seq', priority: 1 },
  { head: 'time', priority: 1 },
  { head: 'action', priority: 1 },
  { head: 'actor', priority: 3, shrink: 8 },
  { head: 'target', priority: 2 },
  { head: 'details', priority: 4, shrink: 12 },
]

/** `width`: the terminal's, to fit it (see renderTable); none draws every column. */
export function renderAuditEvents(page: { items: AuditEvent[] }, width?: number): string {
  if (page.items.length === 0) return 'No audit rows match.'
  return renderTable(
    AUDIT_COLUMNS,
    page.items.map((e) => [e.seq, shortTime(e.at), e.action, e.actor, e.target ?? '—', detailsText(e.details).slice(0, 80)]),
    { width },
  )
}

export function renderVerify(r: VerifyReport): string {
  const lines = [
    r.ok ? paint('green', `intact: ${r.rows} rows, head ${r.head.seq}`) : paint('red', `broken at row ${r.broken!.seq}: ${r.broken!.problem}`),
    ...r.epochs.map((e) => `resealed at row ${e.seq} (${exactTime(e.at)})`),
    ...r.checkpoints.map((c) => `checkpoint ${c.source} (row ${c.seq}): ${c.status}${c.detail ? ` — ${c.detail}` : ''}`),
  ]
  return lines.join('\n')
}

export function renderCheckpoint(c: CheckpointResult & { file?: string }): string {
  return c.file ? `checkpoint of row ${c.seq} written to ${c.file}\nverifier key: ${c.vkey}` : c.note.trimEnd()
}
