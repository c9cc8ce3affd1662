import type { UsageReport, UsageReportKey } from '../core/reports/usage-report.js'
import type { InvalidCode } from '../core/validation/invalid-codes.js'
import { INVALID_CODES } from '../core/validation/invalid-codes.js'
import { csvLines, mdTable } from './report-cells.js'
import type { Column } from './table.js'
import { renderTable, shortTime, wrapWords } from './table.js'

export const USAGE_FORMATS = ['table', 'json', 'csv', 'md', 'html'] as const
export type UsageFormat = (typeof USAGE_FORMATS)[number]
/** The formats rendered here; html needs the installation summary too (ui/html/usage-html.ts). */
export type UsageTextFormat = Exclude<UsageFormat, 'html'>

const BARS = '▁▂▃▄▅▆▇█'

/**
 * One character per value: a day without use is a space, the busiest day of the series a full
 * block, and any use at least the lowest bar, so a single validation is never invisible.
 */
export function sparkline(values: number[]): string {
  const max = Math.max(0, ...values)
  return values.map((v) => (v <= 0 ? ' ' : BARS[Math.min(7, Math.max(0, Math.ceil((v / max) * 8) - 1))])).join('')
}

const dailyTotals = (k: UsageReportKey) => k.daily.ok.map((ok, i) => ok + k.daily.failed[i]!)
const label = (k: { name: string | null }) => k.name ?? '(purged)'
const span = (r: UsageReport) => `${shortTime(r.since)} – ${shortTime(r.until)}`

function summary(r: UsageReport): string {
  const t = r.totals
  const codes = codeCounts(t.failedByCode)
  return `${t.validations} validations (${t.ok} ok, ${t.failed} failed${codes ? `: ${codes}` : ''}) over ${r.days.length} day(s), ${r.days[0]} to ${r.days[r.days.length - 1]}; ${t.keysUsed} of ${t.keys} key(s) used.`
}

/** Failures by code in one cell, most first: "REVOKED 3, EXPIRED 1" (codes in `INVALID_CODES` order on ties). */
export function codeCounts(byCode: Partial<Record<InvalidCode, number>>): string {
  return INVALID_CODES.filter((c) => byCode[c])
    .sort((a, b) => byCode[b]! - byCode[a]!)
    .map((c) => `${c} ${byCode[c]}`)
    .join(', ')
}

/** The columns of the busiest-keys table, and what a narrow terminal keeps of them. */
const KEY_COLUMNS: Column[] = [
  { head: 'key', priority: 1 },
  { head: 'name', priority: 1, shrink: 10 },
  { head: 'owner', priority: 6, shrink: 8 },
  { head: 'ok', priority: 3 },
  { head: 'failed', priority: 3 },
  { head: 'failed by code', priority: 5, shrink: 10 },
  { head: 'total', priority: 2 },
  { head: 'last used', priority: 7 },
]
const KEY_HEAD = KEY_COLUMNS.map((c) => c.head)
const keyCells = (k: UsageReportKey, time: (s: string | null) => string): string[] => [
  k.keyId,
  label(k),
  k.owner ?? '',
  String(k.ok),
  String(k.failed),
  codeCounts(k.failedByCode),
  String(k.total),
  time(k.lastUsedAt),
]

const NEVER_COLUMNS: Column[] = [
  { head: 'key', priority: 1 },
  { head: 'name', priority: 1, shrink: 10 },
  { head: 'type', priority: 4 },
  { head: 'owner', priority: 5, shrink: 8 },
  { head: 'status', priority: 2 },
  { head: 'created', priority: 6 },
  { head: 'last used', priority: 3 },
]
const NEVER_HEAD = NEVER_COLUMNS.map((c) => c.head)
const neverCells = (k: UsageReport['neverUsed'][number], time: (s: string | null) => string): string[] => [
  k.keyId,
  label(k),
  k.type ?? '',
  k.owner ?? '',
  k.status ?? '',
  time(k.createdAt),
  time(k.lastUsedAt),
]

const CSV_HEAD = ['day', 'key id', 'name', 'type', 'owner', 'status', 'ok', 'failed', ...INVALID_CODES, 'last used']

/**
 * CSV: one row per key per day with use (a tidy table a spreadsheet pivots), its refusals of
 * that day in one column per code, then one row with an empty day and zero counts for each
 * key never used in the window, so every key appears.
 */
function csv(r: UsageReport): string {
  const rows: string[][] = [CSV_HEAD]
  for (const k of r.keys) {
    const base = (day: string, ok: number, failed: number, codes: number[]) => [day, k.keyId, k.name ?? '', k.type ?? '', k.owner ?? '', k.status ?? '', String(ok), String(failed), ...codes.map(String), k.lastUsedAt ?? '']
    if (k.total === 0) rows.push(base('', 0, 0, INVALID_CODES.map(() => 0)))
    r.days.forEach((day, i) => {
      const [ok, failed] = [k.daily.ok[i]!, k.daily.failed[i]!]
      if (ok + failed > 0) rows.push(base(day, ok, failed, INVALID_CODES.map((c) => k.daily.failedByCode[c]?.[i] ?? 0)))
    })
  }
  return csvLines(rows)
}

function md(r: UsageReport): string {
  const time = (s: string | null) => (s ? shortTime(s) : '—')
  const used = r.keys.filter((k) => k.total > 0)
  return [
    `# Usage report (${span(r)})`,
    '',
    summary(r),
    '',
    '## Validations per day',
    '',
    ...mdTable(['day', 'ok', 'failed'], r.perDay.map((d) => [d.day, String(d.ok), String(d.failed)])),
    '',
    '## Keys by use (busiest first)',
    '',
    ...(used.length ? mdTable([...KEY_HEAD, 'per day'], used.map((k) => [...keyCells(k, time), sparkline(dailyTotals(k))])) : ['No key was used in the window.']),
    '',
    '## Never used in the window',
    '',
    ...(r.neverUsed.length ? mdTable(NEVER_HEAD, r.neverUsed.map((k) => neverCells(k, time))) : ['Every key was used.']),
    '',
  ].join('\n')
}

function table(r: UsageReport, width?: number): string {
  const dash = (s: string | null) => (s ? shortTime(s) : '—')
  const used = r.keys.filter((k) => k.total > 0)
  const lines = [wrapWords(`Usage ${span(r)}: ${summary(r)}`, width)]
  if (used.length) {
    const all = r.perDay.map((d) => d.ok + d.failed)
    lines.push(
      renderTable(
        // The sparkline is never cut: its first days alone would read as the whole window.
        [...KEY_COLUMNS, { head: `per day (${r.days[0]} → ${r.days[r.days.length - 1]})`, priority: 4 }],
        [
          ...used.map((k) => [...keyCells(k, dash).map((c, i) => c || (i === 5 ? '' : '—')), sparkline(dailyTotals(k))]),
          ['all keys', '', '', String(r.totals.ok), String(r.totals.failed), codeCounts(r.totals.failedByCode), String(r.totals.validations), '', sparkline(all)],
        ],
        { width },
      ),
    )
  } else {
    lines.push('No key was used in the window.')
  }
  if (r.neverUsed.length) {
    lines.push(`Never used in the window: ${r.neverUsed.length} key(s).`)
    lines.push(renderTable(NEVER_COLUMNS, r.neverUsed.map((k) => neverCells(k, dash).map((c) => c || '—')), { width }))
  }
  return lines.join('\n')
}

/** `width` (table only): the terminal's, to fit it (see renderTable); none draws every column. */
export function renderUsageReport(r: UsageReport, format: UsageTextFormat, width?: number): string {
  switch (format) {
    case 'json':
      return JSON.stringify(r, null, 2)
    case 'csv':
      return csv(r)
    case 'md':
      return md(r)
    default:
      return table(r, width)
  }
}
