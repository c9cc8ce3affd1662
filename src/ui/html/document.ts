import { KEY_STATUSES } from '../../core/api-keys/key-types.js'
import type { ReportSummary } from '../../core/reports/summary.js'
import { escapeXml as esc, inertJson } from './escape.js'

/** A cell: text (escaped) or a count (right-aligned, grouped). */
export type Cell = string | number

export interface TableSpec {
  caption: string
  head: string[]
  rows: Cell[][]
  /** Rows left out of `rows` (a capped list): an "… and N more" line closes the table. */
  more?: number
  /** What the "and N more" line names ("keys"). */
  moreOf?: string
  /** Said in the one row of an empty table. */
  empty?: string
}

const cell = (c: Cell) => (typeof c === 'number' ? `<td class="num">${c.toLocaleString('en-US')}</td>` : `<td>${esc(c)}</td>`)

/** A table with a caption, column headers and each row's first cell as its row header. */
export function dataTable(t: TableSpec): string {
  // A column of counts has its header over the numbers, on the right.
  const numeric = t.head.map((_, i) => t.rows.length > 0 && t.rows.every((r) => typeof r[i] === 'number'))
  const head = `<thead><tr>${t.head.map((h, i) => `<th scope="col"${numeric[i] ? ' class="num"' : ''}>${esc(h)}</th>`).join('')}</tr></thead>`
  const rows = t.rows.map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<th scope="row"${typeof c === 'number' ? ' class="num"' : ''}>${esc(typeof c === 'number' ? c.toLocaleString('en-US') : c)}</th>` : cell(c))).join('')}</tr>`)
  const empty = t.rows.length ? '' : `<tr><td colspan="${t.head.length}" class="none">${esc(t.empty ?? 'None.')}</td></tr>`
  const more = t.more ? `<tfoot><tr><td colspan="${t.head.length}" class="more">… and ${t.more.toLocaleString('en-US')} more ${esc(t.moreOf ?? 'rows')} (all of them are in the JSON form of this report)</td></tr></tfoot>` : ''
  return `<table><caption>${esc(t.caption)}</caption>${head}<tbody>${rows.join('')}${empty}</tbody>${more}</table>`
}

/** The first `max` items and how many were left out. */
export function capped<T>(items: readonly T[], max: number): { shown: T[]; more: number } {
  return { shown: items.slice(0, max), more: Math.max(0, items.length - max) }
}

export interface Figure {
  svg: string
  caption: string
}

/**
 * A chart (or two, side by side in one figure) with the table of its numbers beside it, or
 * below it (`tablesBelow`) when the table has too many columns to sit beside a chart.
 */
export function chartBlock(b: { id: string; heading: string; figures: Figure[]; tables: string[]; note?: string; tablesBelow?: boolean }): string {
  const figures = b.figures.map((f) => `<figure>${f.svg}<figcaption>${esc(f.caption)}</figcaption></figure>`).join('')
  const note = b.note ? `<p class="note">${esc(b.note)}</p>` : ''
  return `<section class="chart-block" id="${esc(b.id)}"><h2>${esc(b.heading)}</h2>${note}<div class="pair${b.tablesBelow ? ' below' : ''}"><div class="figures">${figures}</div><div class="tables">${b.tables.join('')}</div></div></section>`
}

/** A section with tables only (lists of keys, lockouts). */
export function listBlock(b: { id: string; heading: string; tables: string[]; note?: string }): string {
  const note = b.note ? `<p class="note">${esc(b.note)}</p>` : ''
  return `<section class="list-block" id="${esc(b.id)}"><h2>${esc(b.heading)}</h2>${note}${b.tables.join('')}</section>`
}

/** One number of the summary; `id` becomes its `data-summary` attribute (what tests and scripts read). */
export interface Fact {
  id: string
  label: string
  value: number | string
  /** Drawn as a warning when the value is not zero. */
  warn?: boolean
}

function facts(heading: string, list: Fact[]): string {
  const items = list
    .map((f) => {
      const warn = f.warn && f.value !== 0 ? ' class="warn"' : ''
      const value = typeof f.value === 'number' ? f.value.toLocaleString('en-US') : f.value
      return `<div${warn}><dt>${esc(f.label)}</dt><dd data-summary="${esc(f.id)}">${esc(value)}</dd></div>`
    })
    .join('')
  return `<h2>${esc(heading)}</h2><dl class="facts">${items}</dl>`
}

/** The result of `audit verify`, in words and colour (the words alone say it: print in grey, or no colour vision). */
export function auditBanner(audit: ReportSummary['audit']): string {
  const epochs = audit.epochs ? `, ${audit.epochs} reseal epoch(s)` : ''
  return audit.ok
    ? `<p class="audit ok" data-summary="audit-status" data-status="ok"><strong>✔ Audit chain intact</strong>: ${audit.rows.toLocaleString('en-US')} rows verified, head at seq ${audit.headSeq}${epochs}.</p>`
    : `<p class="audit broken" data-summary="audit-status" data-status="broken"><strong>✘ Audit chain broken at seq ${audit.broken?.seq ?? '?'}</strong>: ${esc(audit.broken?.problem ?? 'unknown problem')}. Run <code>momentry audit verify</code> for details.</p>`
}

/**
 * The top of every HTML report: the audit verdict, then the state of the installation now
 * (keys by status, overdue rotations, expiring keys, open anomalies), then the report's own numbers.
 */
export function summaryBlock(s: ReportSummary, reportFacts: { heading: string; facts: Fact[] }): string {
  const installation: Fact[] = [
    { id: 'keys-total', label: 'Keys', value: s.keys.total },
    ...KEY_STATUSES.map((status) => ({ id: `keys-${status}`, label: status, value: s.keys.byStatus[status] ?? 0 })),
    { id: 'rotation-overdue', label: 'Rotation overdue', value: s.rotationOverdue, warn: true },
    { id: 'expiring-7d', label: 'Expiring ≤ 7 days', value: s.expiringIn7Days, warn: true },
    { id: 'expiring-30d', label: 'Expiring ≤ 30 days', value: s.expiringIn30Days },
    { id: 'open-anomalies', label: 'Open anomalies', value: s.openAnomalies, warn: true },
    { id: 'audit-rows', label: 'Audit rows', value: s.audit.rows },
  ]
  return `<section class="summary" id="summary">${auditBanner(s.audit)}${facts(`Installation now (${s.generatedAt.slice(0, 16).replace('T', ' ')}Z)`, installation)}${facts(reportFacts.heading, reportFacts.facts)}</section>`
}

const CSS = `
:root{color-scheme:light;--ink:#1a1a1a;--muted:#555;--rule:#d0d4d9;--panel:#f3f5f7;--ok:#0a6b2d;--ok-bg:#e3f3e8;--bad:#a4161a;--bad-bg:#fbe4e4;--warn:#8a4b00}
*{box-sizing:border-box}
html{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{margin:0 auto;max-width:1440px;padding:24px 32px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif;color:var(--ink);background:#fff}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:17px;margin:0 0 8px;break-after:avoid;page-break-after:avoid}
header p{margin:0;color:var(--muted)}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
section{margin:28px 0 0;padding-top:16px;border-top:1px solid var(--rule)}
.summary h2{font-size:15px;margin-top:14px}
.facts{display:flex;flex-wrap:wrap;gap:8px;margin:0}
.facts div{background:var(--panel);border:1px solid var(--rule);border-radius:6px;padding:6px 12px;min-width:120px}
.facts dt{font-size:12px;color:var(--muted)}
.facts dd{margin:0;font-size:20px;font-weight:600;font-variant-numeric:tabular-nums}
.facts .warn{border-color:var(--warn)}.facts .warn dd{color:var(--warn)}
.audit{margin:0;padding:10px 14px;border-radius:6px;border-left:6px solid;font-size:15px}
.audit.ok{background:var(--ok-bg);border-color:var(--ok);color:var(--ok)}
.audit.broken{background:var(--bad-bg);border-color:var(--bad);color:var(--bad)}
.pair{display:grid;grid-template-columns:minmax(0,720px) minmax(0,1fr);gap:24px;align-items:start}
.pair.below{grid-template-columns:minmax(0,1fr)}
.figures{display:grid;gap:12px}
figure{margin:0;break-inside:avoid;page-break-inside:avoid}
figcaption{font-size:12px;color:var(--muted);margin-top:4px}
svg.chart{display:block;width:100%;height:auto;max-width:720px}
svg.chart text{font-size:11px;fill:#333}
svg.chart .grid line,svg.chart line.grid{stroke:#e2e5e9;stroke-width:1}
svg.chart .axis{stroke:#666;stroke-width:1}
svg.chart .unit,svg.chart .empty{fill:var(--muted)}
svg.chart .value{font-variant-numeric:tabular-nums}
.tables{overflow-x:auto;display:grid;gap:12px}
table{border-collapse:collapse;font-size:12.5px;width:100%}
caption{text-align:left;font-weight:600;padding:0 0 4px}
th,td{padding:3px 8px;border-bottom:1px solid var(--rule);text-align:left;vertical-align:top}
thead th{background:var(--panel);border-bottom:2px solid var(--rule);white-space:nowrap}
tbody th{font-weight:500;white-space:nowrap}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.none,td.more{color:var(--muted);font-style:italic}
.list-block .tables,.list-block>table{max-width:100%}
.list-block{overflow-x:auto}
.note{color:var(--muted);margin:0 0 8px}
footer{margin-top:32px;color:var(--muted);font-size:12px}
@media (max-width:1100px){.pair{grid-template-columns:minmax(0,1fr)}}
@page{size:A4;margin:12mm}
@media print{
body{max-width:none;padding:0;font-size:10pt}
.pair{grid-template-columns:minmax(0,1fr);gap:8px}
svg.chart{max-width:100%}
section{break-before:auto;margin-top:14px;padding-top:8px}
.chart-block .figures{break-inside:avoid;page-break-inside:avoid}
table{font-size:8.5pt}
thead{display:table-header-group}
tr{break-inside:avoid;page-break-inside:avoid}
.tables,.list-block{overflow:visible}
}`

/**
 * One self-contained page: inline CSS, inline SVG, no script to run (the data sits in an inert
 * `application/json` script element), nothing fetched when opened — a content security policy
 * that allows no source at all says so to the browser, and the icon is an empty data: URL so no
 * favicon is asked for.
 */
export function htmlDocument(d: { title: string; subtitle: string; summary: string; sections: string[]; data: unknown }): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="generator" content="momentry">',
    '<link rel="icon" href="data:,">',
    `<title>${esc(d.title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    `<header><h1>${esc(d.title)}</h1><p>${esc(d.subtitle)}</p></header>`,
    '<main>',
    d.summary,
    ...d.sections,
    '</main>',
    '<footer>Made by momentry. The numbers of every chart are in the table beside it; the report’s data is embedded in this file as JSON (the element with id “report-data”).</footer>',
    `<script type="application/json" id="report-data">${inertJson(d.data)}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n')
}
