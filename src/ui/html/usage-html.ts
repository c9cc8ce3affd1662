import { ageExpiryHistogram } from '../../core/reports/histogram.js'
import type { ReportSummary } from '../../core/reports/summary.js'
import type { UsageReport } from '../../core/reports/usage-report.js'
import { capped, chartBlock, dataTable, htmlDocument, listBlock, summaryBlock } from './document.js'
import { dayCategories, failuresByCodeSection, histogramSection, minute } from './sections.js'
import { stackedBars, stackedColumns } from './svg-charts.js'

/** Rows of the never-used table in the page; the rest are counted, and listed in the JSON. */
export const NEVER_USED_ROWS = 50

const OK_FAILED = [
  { key: 'ok', label: 'ok' },
  { key: 'failed', label: 'failed' },
]

/** The per-key table embedded as JSON: totals only, one array per key (a 10k-key report stays small). */
export const USAGE_KEY_COLUMNS = ['keyId', 'name', 'type', 'owner', 'status', 'createdAt', 'expiresAt', 'ok', 'failed', 'failedByCode', 'lastUsedAt'] as const

/**
 * What the page embeds as JSON: each chart's data, the summary, and every key's totals as a
 * columnar table `{columns, rows}` (no per-day arrays: those are in `--format json`).
 */
export function usageHtmlData(r: UsageReport, summary: ReportSummary) {
  return {
    report: 'usage' as const,
    generatedAt: r.generatedAt,
    since: r.since,
    until: r.until,
    days: r.days,
    totals: r.totals,
    summary,
    perDay: r.perDay,
    busiest: r.busiest,
    histogram: usageHistogram(r),
    keys: {
      columns: [...USAGE_KEY_COLUMNS],
      rows: r.keys.map((k) => [k.keyId, k.name, k.type, k.owner, k.status, k.createdAt, k.expiresAt, k.ok, k.failed, k.failedByCode, k.lastUsedAt]),
    },
  }
}

/** The report's keys momentry still has (a purged key has no age or expiry), as seen when the report was made. */
const usageHistogram = (r: UsageReport) => ageExpiryHistogram(r.keys.filter((k) => k.createdAt !== null), new Date(r.generatedAt))

const label = (k: { name: string | null }) => k.name ?? '(purged)'

/**
 * `report usage --format html`: the summary, validations per day (stacked ok / failed), the ten
 * busiest keys, key age and expiry, the keys never used — each chart with its table.
 */
export function renderUsageHtml(r: UsageReport, summary: ReportSummary): string {
  const t = r.totals
  const first = r.days[0]
  const last = r.days[r.days.length - 1]
  const perDay = chartBlock({
    id: 'validations-per-day',
    heading: 'Validations per day',
    figures: [
      {
        svg: stackedColumns({
          id: 'validations-per-day-chart',
          title: 'Validations per day, ok and failed',
          desc: `Stacked columns: validations per UTC day from ${first} to ${last}, ok below and failed on top; ${t.validations} in total (${t.ok} ok, ${t.failed} failed).`,
          categories: dayCategories(r.days),
          series: OK_FAILED,
          values: [r.perDay.map((d) => d.ok), r.perDay.map((d) => d.failed)],
          unit: 'validations',
        }),
        caption: `All keys together, per UTC day, ${first} to ${last}.`,
      },
    ],
    tables: [dataTable({ caption: 'Validations per day', head: ['day', 'ok', 'failed', 'total'], rows: [...r.perDay.map((d) => [d.day, d.ok, d.failed, d.ok + d.failed]), ['total', t.ok, t.failed, t.validations]] })],
  })
  const busiest = chartBlock({
    id: 'top-keys',
    heading: 'Busiest keys',
    figures: [
      {
        svg: stackedBars({
          id: 'top-keys-chart',
          title: `The ${r.busiest.length} busiest keys`,
          desc: `Horizontal stacked bars: the ${r.busiest.length} keys with the most validations in the window, ok and failed; ${r.busiest.map((k) => `${label(k)}: ${k.total}`).join(', ') || 'no key was used'}.`,
          categories: r.busiest.map((k) => ({ key: k.keyId, label: label(k), title: `${label(k)} (${k.keyId})` })),
          series: OK_FAILED,
          values: [r.busiest.map((k) => k.ok), r.busiest.map((k) => k.failed)],
          unit: 'validations',
        }),
        caption: `Validations of the busiest keys (at most 10) in the window; ${t.keysUsed} of ${t.keys} keys were used.`,
      },
    ],
    tables: [dataTable({ caption: 'Busiest keys', head: ['key', 'name', 'ok', 'failed', 'total'], rows: r.busiest.map((k) => [k.keyId, label(k), k.ok, k.failed, k.total]), empty: 'No key was used in the window.' })],
  })
  const never = capped(r.neverUsed, NEVER_USED_ROWS)
  const neverUsed = listBlock({
    id: 'never-used',
    heading: 'Keys never used in the window',
    tables: [
      dataTable({
        caption: `${r.neverUsed.length} key(s) without a validation in the window`,
        head: ['key', 'name', 'type', 'owner', 'status', 'created', 'last used'],
        rows: never.shown.map((k) => [k.keyId, label(k), k.type ?? '—', k.owner ?? '—', k.status ?? '—', minute(k.createdAt), minute(k.lastUsedAt)]),
        more: never.more,
        moreOf: 'keys',
        empty: 'Every key was used.',
      }),
    ],
  })
  return htmlDocument({
    title: 'momentry usage report',
    subtitle: `Window ${minute(r.since)} – ${minute(r.until)} (UTC days ${first} to ${last}); made ${minute(r.generatedAt)}.`,
    summary: summaryBlock(summary, {
      heading: 'This report',
      facts: [
        { id: 'validations', label: 'Validations', value: t.validations },
        { id: 'ok', label: 'ok', value: t.ok },
        { id: 'failed', label: 'failed', value: t.failed, warn: true },
        { id: 'report-keys', label: 'Keys in the report', value: t.keys },
        { id: 'keys-used', label: 'Keys used', value: t.keysUsed },
        { id: 'keys-never-used', label: 'Keys never used', value: t.keysNeverUsed },
      ],
    }),
    sections: [perDay, failuresByCodeSection(r.totals.failedByCode, 'of known keys in the window'), busiest, histogramSection(usageHistogram(r), 'keys in the report'), neverUsed],
    data: usageHtmlData(r, summary),
  })
}
