import type { AnomalyType, Severity } from '../../core/anomalies/anomaly-view.js'
import { ANOMALY_TYPES, SEVERITIES } from '../../core/anomalies/anomaly-view.js'
import type { SecurityKeyRef, SecurityReport } from '../../core/reports/security-report.js'
import type { InvalidCode } from '../../core/validation/invalid-codes.js'
import { INVALID_CODES } from '../../core/validation/invalid-codes.js'
import type { Cell } from './document.js'
import { capped, chartBlock, dataTable, htmlDocument, listBlock, summaryBlock } from './document.js'
import { dayCategories, failuresByCodeSection, histogramSection, minute } from './sections.js'
import type { ChartSeries } from './svg-charts.js'
import { stackedBars, stackedColumns } from './svg-charts.js'

/** Rows of each key list in the page (overdue, expiring, without expiry or owner); the totals count all. */
export const KEY_LIST_ROWS = 50

/** Severity from light to dark (a sequential scale that reads in grey and with any colour vision). */
const SEVERITY_COLOURS: Record<Severity, string> = { low: '#FDD0A2', medium: '#FD8D3C', high: '#D94801', critical: '#7F2704' }

const KEY_COLUMNS = ['keyId', 'name', 'type', 'owner', 'status', 'createdAt', 'expiresAt'] as const
const keyRow = (k: SecurityKeyRef) => [k.keyId, k.name, k.type, k.owner, k.status, k.createdAt, k.expiresAt]

/**
 * What the page embeds as JSON: the report with its four key lists as columnar tables
 * `{columns, rows}` (they can hold every key of the installation).
 */
export function securityHtmlData(r: SecurityReport) {
  return {
    report: 'security' as const,
    ...r,
    rotationOverdue: { columns: [...KEY_COLUMNS, 'rotateEverySeconds', 'dueAt', 'overdueDays'], rows: r.rotationOverdue.map((k) => [...keyRow(k), k.rotateEverySeconds, k.dueAt, k.overdueDays]) },
    expiringSoon: { columns: [...KEY_COLUMNS, 'daysLeft'], rows: r.expiringSoon.map((k) => [...keyRow(k), k.daysLeft]) },
    withoutExpiry: { columns: [...KEY_COLUMNS], rows: r.withoutExpiry.map(keyRow) },
    withoutOwner: { columns: [...KEY_COLUMNS], rows: r.withoutOwner.map(keyRow) },
  }
}

const sum = (values: number[]) => values.reduce((n, v) => n + v, 0)
/** The codes with any failure, in `INVALID_CODES` order (the legend lists only what is drawn). */
const presentCodes = (has: (code: InvalidCode) => boolean) => INVALID_CODES.filter(has)

function failuresPerDay(r: SecurityReport): string {
  const codes = presentCodes((c) => r.failuresPerDay.some((d) => d.byCode[c] > 0))
  const total = sum(r.failuresPerDay.map((d) => sum(INVALID_CODES.map((c) => d.byCode[c]))))
  return chartBlock({
    id: 'failures-per-day',
    tablesBelow: true,
    heading: 'Failures per day',
    figures: [
      {
        svg: stackedColumns({
          id: 'failures-per-day-chart',
          title: 'Failed validations per day, by code',
          desc: `Stacked columns: ${total} failed validations per UTC day from ${r.days[0]} to ${r.days[r.days.length - 1]}, stacked by code (${codes.join(', ') || 'no failures'}).`,
          categories: dayCategories(r.days),
          series: codes.map((c) => ({ key: c, label: c })),
          values: codes.map((c) => r.failuresPerDay.map((d) => d.byCode[c])),
          unit: 'failures',
        }),
        caption: 'Failed validations per UTC day, stacked by the code validation answered.',
      },
    ],
    tables: [
      dataTable({
        caption: 'Failures per day',
        head: ['day', ...codes, 'total'],
        rows: r.failuresPerDay.map((d) => [d.day, ...codes.map((c) => d.byCode[c]), sum(INVALID_CODES.map((c) => d.byCode[c]))]),
      }),
    ],
  })
}

function failuresBySource(r: SecurityReport): string {
  const codes = presentCodes((c) => r.failuresBySource.some((s) => (s.byCode[c] ?? 0) > 0))
  const rows: Cell[][] = r.failuresBySource.map((s) => [s.ip, s.count, codes.filter((c) => s.byCode[c]).map((c) => `${c} ${s.byCode[c]}`).join(', '), minute(s.lastAt)])
  if (r.otherSources.sources) rows.push([`${r.otherSources.sources} other source(s)`, r.otherSources.count, '', ''])
  if (r.failuresWithoutSource) rows.push(['without a source IP', r.failuresWithoutSource, '', ''])
  return chartBlock({
    id: 'failures-by-source',
    heading: 'Failures by source',
    figures: [
      {
        svg: stackedBars({
          id: 'failures-by-source-chart',
          title: `Failed validations of the ${r.failuresBySource.length} sources with the most`,
          desc: `Horizontal stacked bars: failed validations per source IP, stacked by code; ${r.failuresBySource.map((s) => `${s.ip}: ${s.count}`).join(', ') || 'no source failed'}.`,
          categories: r.failuresBySource.map((s) => ({ key: s.ip, label: s.ip })),
          series: codes.map((c) => ({ key: c, label: c })),
          values: codes.map((c) => r.failuresBySource.map((s) => s.byCode[c] ?? 0)),
          unit: 'failures',
        }),
        caption: 'The source IPs with the most failed validations (at most 20), stacked by code.',
      },
    ],
    tables: [dataTable({ caption: 'Failures by source', head: ['source', 'failures', 'by code', 'last'], rows, empty: 'No failures.' })],
  })
}

function anomaliesOverTime(r: SecurityReport, by: 'type' | 'severity'): string {
  const keys: readonly (AnomalyType | Severity)[] = by === 'type' ? ANOMALY_TYPES : SEVERITIES
  const at = (d: SecurityReport['anomalies']['perDay'][number], k: AnomalyType | Severity) => (by === 'type' ? d.byType[k as AnomalyType] : d.bySeverity[k as Severity])
  const series: ChartSeries[] = keys.map((k) => ({ key: k, label: k, ...(by === 'severity' ? { color: SEVERITY_COLOURS[k as Severity] } : {}) }))
  const totals = keys.map((k) => (by === 'type' ? r.anomalies.byType[k as AnomalyType] : r.anomalies.bySeverity[k as Severity]))
  return chartBlock({
    id: `anomalies-by-${by}`,
    tablesBelow: true,
    heading: `Anomalies by ${by} over time`,
    figures: [
      {
        svg: stackedColumns({
          id: `anomalies-by-${by}-chart`,
          title: `Anomalies per day, by ${by}`,
          desc: `Stacked columns: anomalies first seen per UTC day from ${r.days[0]} to ${r.days[r.days.length - 1]}, stacked by ${by}; ${keys.map((k, i) => `${k}: ${totals[i]}`).join(', ')}.`,
          categories: dayCategories(r.days),
          series,
          values: keys.map((k) => r.anomalies.perDay.map((d) => at(d, k))),
          unit: 'anomalies',
        }),
        caption: `Anomalies by the UTC day they were first seen, stacked by ${by}.`,
      },
    ],
    tables: [
      dataTable({
        caption: `Anomalies per day by ${by}`,
        head: ['day', ...keys, 'total'],
        rows: [...r.anomalies.perDay.map((d) => [d.day, ...keys.map((k) => at(d, k)), sum(keys.map((k) => at(d, k)))]), ['total', ...totals, sum(totals)]],
      }),
    ],
  })
}

function blacklistHits(r: SecurityReport): string {
  return chartBlock({
    id: 'blacklist-hits',
    heading: 'Blacklist hits',
    figures: [
      {
        svg: stackedBars({
          id: 'blacklist-hits-chart',
          title: 'Validations refused by the blacklist, per source',
          desc: `Horizontal bars: ${r.totals.blacklistHits} validations from blacklisted sources refused in the window; ${r.blacklistHits.map((h) => `${h.ip}: ${h.count}`).join(', ') || 'none'}.`,
          categories: r.blacklistHits.map((h) => ({ key: h.ip, label: h.ip })),
          series: [{ key: 'refused', label: 'refused' }],
          values: [r.blacklistHits.map((h) => h.count)],
          unit: 'refusals',
        }),
        caption: 'Blacklisted sources that presented a key in the window.',
      },
    ],
    tables: [
      dataTable({
        caption: 'Blacklist hits',
        head: ['source', 'refused', 'blacklist entry now', 'last'],
        rows: r.blacklistHits.map((h) => [h.ip, h.count, h.network ?? '(since removed)', minute(h.lastAt)]),
        empty: 'No blacklisted source presented a key.',
      }),
    ],
  })
}

const KEY_HEAD = ['key', 'name', 'type', 'owner', 'status', 'created', 'expires']
const keyCells = (k: SecurityKeyRef): Cell[] => [k.keyId, k.name, k.type, k.owner ?? '—', k.status, minute(k.createdAt), minute(k.expiresAt)]

function keyList<K extends SecurityKeyRef>(id: string, heading: string, list: K[], total: number, extra: { head: string[]; cells: (k: K) => Cell[] }, empty: string): string {
  const { shown } = capped(list, KEY_LIST_ROWS)
  return listBlock({
    id,
    heading,
    tables: [
      dataTable({
        caption: `${heading}: ${total}`,
        head: [...KEY_HEAD, ...extra.head],
        rows: shown.map((k) => [...keyCells(k), ...extra.cells(k)]),
        more: Math.max(0, total - shown.length),
        moreOf: 'keys',
        empty,
      }),
    ],
  })
}

/**
 * `report security --format html`: the audit verdict and summary first, then failures by code,
 * per day and by source, anomalies by type and by severity over time, the open anomalies,
 * lockouts, blacklist hits, the key lists (rotation overdue, expiring soon, without expiry or
 * owner) and key age and expiry.
 */
export function renderSecurityHtml(r: SecurityReport): string {
  const t = r.totals
  const first = r.days[0]
  const last = r.days[r.days.length - 1]
  const open = capped(r.anomalies.open, 100)
  const sections = [
    failuresByCodeSection(Object.fromEntries(r.failuresByCode.map((f) => [f.code, f.count])), 'in the window'),
    failuresPerDay(r),
    failuresBySource(r),
    anomaliesOverTime(r, 'type'),
    anomaliesOverTime(r, 'severity'),
    listBlock({
      id: 'open-anomalies',
      heading: 'Open anomalies',
      tables: [
        dataTable({
          caption: `Anomalies not resolved now: ${r.anomalies.open.length}`,
          head: ['anomaly', 'key', 'key name', 'type', 'severity', 'status', 'first seen', 'last seen', 'count'],
          rows: open.shown.map((a) => [a.id, a.keyId, a.keyName, a.type, a.severity, a.status, minute(a.firstSeenAt), minute(a.lastSeenAt), a.count]),
          more: open.more,
          moreOf: 'anomalies',
          empty: 'No open anomaly.',
        }),
      ],
    }),
    listBlock({
      id: 'lockouts',
      heading: 'Lockouts',
      tables: [
        dataTable({
          caption: `Source IPs locked out in the window: ${t.lockouts}`,
          head: ['source', 'at', 'failed attempts'],
          rows: r.lockouts.map((l) => [l.ip, minute(l.at), l.attempts ?? '—']),
          more: Math.max(0, t.lockouts - r.lockouts.length),
          moreOf: 'lockouts',
          empty: 'No lockout in the window.',
        }),
      ],
    }),
    blacklistHits(r),
    keyList('rotation-overdue', 'Rotation overdue', r.rotationOverdue, t.rotationOverdue, { head: ['due', 'overdue (days)'], cells: (k) => [minute(k.dueAt), k.overdueDays] }, 'No key is past its rotation interval.'),
    keyList('expiring-soon', 'Expiring within 30 days', r.expiringSoon, t.expiringSoon, { head: ['days left'], cells: (k) => [k.daysLeft] }, 'No key expires within 30 days.'),
    keyList('without-expiry', 'Without expiry', r.withoutExpiry, t.withoutExpiry, { head: [], cells: () => [] }, 'Every live key expires.'),
    keyList('without-owner', 'Without owner', r.withoutOwner, t.withoutOwner, { head: [], cells: () => [] }, 'Every live key has an owner.'),
    histogramSection(r.histogram, 'live keys'),
  ]
  return htmlDocument({
    title: 'momentry security report',
    subtitle: `Window ${minute(r.since)} – ${minute(r.until)} (UTC days ${first} to ${last}); made ${minute(r.generatedAt)}.`,
    summary: summaryBlock(r.summary, {
      heading: 'This report',
      facts: [
        { id: 'failures', label: 'Failures', value: t.failures, warn: true },
        { id: 'failures-known-keys', label: 'of known keys', value: t.failuresOfKnownKeys },
        { id: 'lockouts', label: 'Lockouts', value: t.lockouts, warn: true },
        { id: 'blacklist-hits', label: 'Blacklist hits', value: t.blacklistHits },
        { id: 'anomalies', label: 'Anomalies', value: t.anomalies, warn: true },
        { id: 'report-rotation-overdue', label: 'Rotation overdue', value: t.rotationOverdue, warn: true },
        { id: 'expiring-soon', label: 'Expiring ≤ 30 days', value: t.expiringSoon },
        { id: 'without-expiry', label: 'Without expiry', value: t.withoutExpiry },
        { id: 'without-owner', label: 'Without owner', value: t.withoutOwner },
      ],
    }),
    sections,
    data: securityHtmlData(r),
  })
}
