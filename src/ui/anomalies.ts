import type { AnomalyDetails } from '../core/anomalies/handle-anomaly.js'
import type { AnomalyView } from '../core/anomalies/anomaly-view.js'
import type { Colour } from './paint.js'
import { paint } from './paint.js'
import { renderTable, shortTime } from './table.js'
import { exactTime } from './time.js'

export const SEVERITY_COLOUR: Record<AnomalyView['severity'], Colour> = { low: 'cyan', medium: 'yellow', high: 'magenta', critical: 'red' }

export const severityText = (s: AnomalyView['severity']) => paint(SEVERITY_COLOUR[s], s)

export function renderAnomalies(list: AnomalyView[]): string {
  if (list.length === 0) return 'No anomalies match.'
  return renderTable(
    ['id', 'key', 'name', 'type', 'severity', 'observed', 'threshold', 'count', 'status', 'last seen'],
    list.map((a) => [a.id, a.keyId, a.keyName ?? '—', a.type, severityText(a.severity), a.observed, a.threshold, a.count, a.status, shortTime(a.lastSeenAt)]),
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
