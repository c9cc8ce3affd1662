import { ANOMALY_TYPES, SEVERITIES } from '../core/anomalies/anomaly-view.js'
import { formatDuration } from '../core/duration.js'
import type { SecurityKeyRef, SecurityReport } from '../core/reports/security-report.js'
import { INVALID_CODES } from '../core/validation/invalid-codes.js'
import { csvLines, mdTable } from './report-cells.js'
import type { Column } from './table.js'
import { renderTable, shortTime, wrapWords } from './table.js'
import { codeCounts } from './usage-report.js'

export const SECURITY_FORMATS = ['table', 'json', 'csv', 'md', 'html'] as const
export type SecurityFormat = (typeof SECURITY_FORMATS)[number]
/** The formats rendered here; html is ui/html/security-html.ts. */
export type SecurityTextFormat = Exclude<SecurityFormat, 'html'>

/** One titled block of the report: its rows, or a sentence when it has none. */
interface Section {
  title: string
  head: (string | Column)[]
  rows: string[][]
  empty: string
}

const span = (r: SecurityReport) => `${shortTime(r.since)} – ${shortTime(r.until)}`
const date = (iso: string | null) => (iso ? iso.slice(0, 10) : '—')

function headline(r: SecurityReport): string {
  const t = r.totals
  const audit = r.summary.audit
  const chain = audit.ok ? `audit chain intact (${audit.rows} rows)` : `audit chain BROKEN at ${audit.broken?.seq ?? '?'}`
  return (
    `${t.failures} failed validations (${t.failuresOfKnownKeys} of known keys), ${t.lockouts} lockout(s), ${t.blacklistHits} blacklist hit(s), ` +
    `${t.anomalies} anomaly(ies) over ${r.days.length} day(s); ${t.rotationOverdue} key(s) overdue for rotation, ${t.expiringSoon} expiring within 30 days, ` +
    `${t.withoutExpiry} without expiry, ${t.withoutOwner} without owner; ${chain}.`
  )
}

/** The key columns of several sections, and what a narrow terminal keeps of them. */
const KEY_HEAD: Column[] = [
  { head: 'key', priority: 1 },
  { head: 'name', priority: 1, shrink: 10 },
  { head: 'type', priority: 4 },
  { head: 'owner', priority: 5, shrink: 8 },
  { head: 'status', priority: 2 },
  { head: 'created', priority: 6 },
  { head: 'expires', priority: 3 },
]
const keyCells = (k: SecurityKeyRef) => [k.keyId, k.name, k.type, k.owner ?? '', k.status, date(k.createdAt), date(k.expiresAt)]

function sections(r: SecurityReport): Section[] {
  const codesSeen = INVALID_CODES.filter((c) => r.failuresByCode.find((f) => f.code === c)!.count > 0)
  const sources = r.failuresBySource.map((s) => [s.ip, String(s.count), codeCounts(s.byCode), shortTime(s.lastAt)])
  if (r.otherSources.count) sources.push([`(${r.otherSources.sources} other source(s))`, String(r.otherSources.count), '', ''])
  if (r.failuresWithoutSource) sources.push(['(no source IP)', String(r.failuresWithoutSource), '', ''])
  const anomalyDays = r.anomalies.perDay.filter((d) => ANOMALY_TYPES.some((t) => d.byType[t]))
  return [
    {
      title: 'Failures by code',
      head: ['code', 'failures'],
      rows: r.failuresByCode.map((f) => [f.code, String(f.count)]),
      empty: '',
    },
    {
      title: 'Failures per day',
      head: [{ head: 'day', priority: 1 }, ...codesSeen.map((c) => ({ head: c, priority: 2 })), { head: 'total', priority: 1 }],
      rows: r.failuresPerDay
        .filter((d) => codesSeen.some((c) => d.byCode[c]))
        .map((d) => [d.day, ...codesSeen.map((c) => String(d.byCode[c])), String(codesSeen.reduce((n, c) => n + d.byCode[c], 0))]),
      empty: 'No failed validation in the window.',
    },
    {
      title: 'Failures by source',
      head: [{ head: 'source', priority: 1 }, { head: 'failures', priority: 1 }, { head: 'by code', priority: 3, shrink: 10 }, { head: 'last', priority: 2 }],
      rows: sources,
      empty: 'No failed validation in the window.',
    },
    {
      title: `Lockouts (${r.totals.lockouts})`,
      head: ['ip', 'at', 'attempts'],
      rows: r.lockouts.map((l) => [l.ip, shortTime(l.at), l.attempts === null ? '?' : String(l.attempts)]),
      empty: 'No lockout in the window.',
    },
    {
      title: 'Blacklist hits',
      head: ['ip', 'refused', 'blacklist entry now', 'last'],
      rows: r.blacklistHits.map((h) => [h.ip, String(h.count), h.network ?? '(removed)', shortTime(h.lastAt)]),
      empty: 'No blacklisted source was refused in the window.',
    },
    {
      title: 'Anomalies by type and severity (first seen in the window)',
      head: ['type', 'anomalies', 'severity', 'anomalies'],
      // Side by side: a type and a severity per row.
      rows: Array.from({ length: Math.max(ANOMALY_TYPES.length, SEVERITIES.length) }, (_, i) => {
        const [t, s] = [ANOMALY_TYPES[i], SEVERITIES[i]]
        return [t ?? '', t ? String(r.anomalies.byType[t]) : '', s ?? '', s ? String(r.anomalies.bySeverity[s]) : '']
      }),
      empty: '',
    },
    {
      title: 'Anomalies per day',
      head: [{ head: 'day', priority: 1 }, ...ANOMALY_TYPES.map((t) => ({ head: t, priority: 2 }))],
      rows: anomalyDays.map((d) => [d.day, ...ANOMALY_TYPES.map((t) => String(d.byType[t]))]),
      empty: 'No anomaly was first seen in the window.',
    },
    {
      title: 'Anomalies not resolved',
      head: [
        { head: 'anomaly', priority: 1 },
        { head: 'key', priority: 5 },
        { head: 'name', priority: 3, shrink: 8 },
        { head: 'type', priority: 1 },
        { head: 'severity', priority: 1 },
        { head: 'status', priority: 2 },
        { head: 'first seen', priority: 7 },
        { head: 'last seen', priority: 4 },
        { head: 'count', priority: 6 },
      ],
      rows: r.anomalies.open.map((a) => [a.id, a.keyId, a.keyName, a.type, a.severity, a.status, shortTime(a.firstSeenAt), shortTime(a.lastSeenAt), String(a.count)]),
      empty: 'No anomaly is open.',
    },
    {
      title: 'Overdue for rotation',
      head: [...KEY_HEAD, { head: 'every', priority: 7 }, { head: 'due', priority: 8 }, { head: 'overdue (days)', priority: 2 }],
      rows: r.rotationOverdue.map((k) => [...keyCells(k), formatDuration(k.rotateEverySeconds), shortTime(k.dueAt), String(k.overdueDays)]),
      empty: 'No key is past its rotation interval.',
    },
    {
      title: 'Expiring within 30 days',
      head: [...KEY_HEAD, { head: 'days left', priority: 2 }],
      rows: r.expiringSoon.map((k) => [...keyCells(k), String(k.daysLeft)]),
      empty: 'No live key expires within 30 days.',
    },
    { title: 'Without expiry', head: KEY_HEAD, rows: r.withoutExpiry.map(keyCells), empty: 'Every live key expires.' },
    { title: 'Without owner', head: KEY_HEAD, rows: r.withoutOwner.map(keyCells), empty: 'Every live key has an owner.' },
    {
      title: 'Live keys by age and expiry',
      head: ['age', 'keys', 'expiry', 'keys'],
      rows: r.histogram.age.map((a, i) => [a.bucket, String(a.count), r.histogram.expiry[i]!.bucket, String(r.histogram.expiry[i]!.count)]),
      empty: '',
    },
  ]
}

function auditLine(r: SecurityReport): string {
  const a = r.summary.audit
  if (a.ok) return `audit verify: intact, ${a.rows} row(s), head ${a.headSeq}${a.epochs ? `, ${a.epochs} reseal epoch(s)` : ''}.`
  return `audit verify: BROKEN at sequence ${a.broken?.seq ?? '?'}: ${a.broken?.problem ?? 'unknown'} (${a.rows} row(s), head ${a.headSeq}).`
}

function table(r: SecurityReport, width?: number): string {
  const lines = [wrapWords(`Security ${span(r)}: ${headline(r)}`, width)]
  for (const s of sections(r)) {
    lines.push('', `${s.title}:`)
    lines.push(s.rows.length ? renderTable(s.head, s.rows.map((row) => row.map((c) => c || '—')), { width }) : s.empty)
  }
  lines.push('', wrapWords(auditLine(r), width))
  return lines.join('\n')
}

function md(r: SecurityReport): string {
  const lines = [`# Security report (${span(r)})`, '', headline(r)]
  for (const s of sections(r)) lines.push('', `## ${s.title}`, '', ...(s.rows.length ? mdTable(s.head.map((h) => (typeof h === 'string' ? h : h.head)), s.rows) : [s.empty]))
  lines.push('', '## Audit trail', '', auditLine(r), '')
  return lines.join('\n')
}

/**
 * The CSV columns; a row fills those its section has. `at` is the time of the fact (last
 * failure, lockout, due date, expiry, creation), `count` its number (failures, attempts,
 * overdue days, days left, keys).
 */
export const SECURITY_CSV_HEAD = ['section', 'day', 'code', 'ip', 'key id', 'name', 'kind', 'owner', 'status', 'severity', 'count', 'at', 'detail']

/** CSV: tidy, one row per fact, its `section` first (a spreadsheet filters or pivots on it). */
function csv(r: SecurityReport): string {
  const rows: string[][] = [SECURITY_CSV_HEAD]
  const row = (section: string, cells: Partial<Record<(typeof SECURITY_CSV_HEAD)[number], string | number | null>>) =>
    rows.push(SECURITY_CSV_HEAD.map((h, i) => (i === 0 ? section : String(cells[h] ?? ''))))
  const key = (k: SecurityKeyRef) => ({ 'key id': k.keyId, name: k.name, kind: k.type, owner: k.owner, status: k.status })
  for (const [name, value] of Object.entries(r.totals)) row('total', { kind: name, count: value })
  for (const d of r.failuresPerDay) for (const c of INVALID_CODES) if (d.byCode[c]) row('failures', { day: d.day, code: c, count: d.byCode[c] })
  for (const s of r.failuresBySource) for (const c of INVALID_CODES) if (s.byCode[c]) row('failures by source', { ip: s.ip, code: c, count: s.byCode[c], at: s.lastAt })
  if (r.otherSources.count) row('failures by source', { kind: 'other sources', count: r.otherSources.count, detail: `${r.otherSources.sources} source(s)` })
  if (r.failuresWithoutSource) row('failures by source', { kind: 'no source IP', count: r.failuresWithoutSource })
  for (const l of r.lockouts) row('lockout', { ip: l.ip, count: l.attempts, at: l.at })
  for (const h of r.blacklistHits) row('blacklist hit', { ip: h.ip, count: h.count, at: h.lastAt, detail: h.network ?? '(removed)' })
  for (const d of r.anomalies.perDay) {
    for (const t of ANOMALY_TYPES) if (d.byType[t]) row('anomalies by type', { day: d.day, kind: t, count: d.byType[t] })
    for (const s of SEVERITIES) if (d.bySeverity[s]) row('anomalies by severity', { day: d.day, severity: s, count: d.bySeverity[s] })
  }
  for (const a of r.anomalies.open) row('open anomaly', { 'key id': a.keyId, name: a.keyName, kind: a.type, status: a.status, severity: a.severity, count: a.count, at: a.lastSeenAt, detail: a.id })
  for (const k of r.rotationOverdue) row('rotation overdue', { ...key(k), count: k.overdueDays, at: k.dueAt, detail: `every ${formatDuration(k.rotateEverySeconds)}` })
  for (const k of r.expiringSoon) row('expiring soon', { ...key(k), count: k.daysLeft, at: k.expiresAt })
  for (const k of r.withoutExpiry) row('without expiry', { ...key(k), at: k.createdAt })
  for (const k of r.withoutOwner) row('without owner', { ...key(k), at: k.createdAt })
  for (const a of r.histogram.age) row('key age', { kind: a.bucket, count: a.count })
  for (const e of r.histogram.expiry) row('key expiry', { kind: e.bucket, count: e.count })
  const audit = r.summary.audit
  row('audit', { kind: audit.ok ? 'intact' : 'broken', count: audit.rows, detail: audit.broken ? `seq ${audit.broken.seq}: ${audit.broken.problem}` : `head ${audit.headSeq}` })
  return csvLines(rows)
}

/** `width` (table only): the terminal's, to fit it (see renderTable); none draws every column. */
export function renderSecurityReport(r: SecurityReport, format: SecurityTextFormat, width?: number): string {
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
