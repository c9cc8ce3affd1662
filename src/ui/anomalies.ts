import type { AnomalyDetails } from '../core/anomalies/handle-anomaly.js'
import type { AnomalyView } from '../core/anomalies/anomaly-view.js'
import type { Colour } from './paint.js'
import { paint } from './paint.js'
import type { Column } from './table.js'
import { renderTable, shortTime } from './table.js'
import { exactTime } from './time.js'

export const SEVERITY_COLOUR: Record<AnomalyView['severity'], Colour> = { low: 'cyan', medium: 'yellow', high: 'magenta', critical: 'red' }

export const severityText = (s: AnomalyView['severity']) => paint(SEVERITY_COLOUR[s], s)

/** What a narrow terminal keeps of `anomaly list`: the id to act on, what, how bad, on which key, and where it stands. */
const ANOMALY_COLUMNS: Column[] = [
  { head: 'id', priority: 1 },
  { head: 'key', priority: 5 },
  { head: 'name', priority: 3, shrink: 8 },
  { head: 'type', priority: 1 },
  { head: 'severity', priority: 1 },
  { head: 'observed', priority: 6 },
  { head: 'threshold', priority: 7 },
  { head: 'count', priority: 8 },
  { head: 'status', priority: 2 },
  { head: 'last seen', priority: 4 },
]

/** `width`: the terminal's, to fit it (see renderTable); none draws every column. */
export function renderAnomalies(list: AnomalyView[], width?: number): string {
  if (list.length === 0) return 'No anomalies match.'
  return renderTable(
    ANOMALY_COLUMNS,
    list.map((a) => [a.id, a.keyId, a.keyName ?? '—', a.type, severityText(a.severity), a.observed, a.threshold, a.count, a.status, shortTime(a.lastSeenAt)]),
    { width },
  )
}

export function renderAnomaly(a: AnomalyDetails): string {
  const rows: [string, string | null][] = [
    ['id', a.id],
    ['key', `${a.keyId} (${a.keyName === null ? 'purged' : JSON.stringify(a.keyName)})`],
    ['type', a.type],
    ['severity', severityText(a.severity)],
    ['observed', `${a.observed} (threshold ${a.threshold}, window ${a.windowSeconds}s)`],
    ['seen', `${a.count}× from ${exactTime(a.firstSeenAt)} to ${exactTime(a.lastSeenAt)}`],
    ['status', a.status],
    ['acknowledged', a.acknowledgedAt && `${exactTime(a.acknowledgedAt)} by ${a.acknowledgedBy}`],
    ['resolved', a.resolvedAt && `${exactTime(a.resolvedAt)} by ${a.resolvedBy}${a.resolutionNote ? ` — ${a.resolutionNote}` : ''}`],
  ]
  return rows
    .filter((r): r is [string, string] => r[1] !== null)
    .map(([k, v]) => `${k.padEnd(12)}  ${v}`)
    .join('\n')
}
