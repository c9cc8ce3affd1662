import type { AgeExpiryHistogram } from '../../core/reports/histogram.js'
import type { InvalidCode } from '../../core/validation/invalid-codes.js'
import { INVALID_CODES } from '../../core/validation/invalid-codes.js'
import { chartBlock, dataTable } from './document.js'
import type { ChartCategory } from './svg-charts.js'
import { stackedBars } from './svg-charts.js'

/** Days as chart categories: `MM-DD` on the axis, the whole date in each mark's tooltip. */
export const dayCategories = (days: string[]): ChartCategory[] => days.map((day) => ({ key: day, label: day.slice(5), title: day }))

/** A time as the tables show it: minutes, UTC. */
export const minute = (iso: string | null) => (iso ? `${iso.slice(0, 16).replace('T', ' ')}Z` : '—')

const sum = (values: number[]) => values.reduce((n, v) => n + v, 0)

/**
 * Key age and expiry, two bar charts side by side with their tables (every bucket listed, zeros
 * included). `what` names what was counted ("keys in the report").
 */
export function histogramSection(h: AgeExpiryHistogram, what: string): string {
  const one = (id: 'age' | 'expiry', title: string, rows: { bucket: string; count: number }[]) =>
    stackedBars({
      id: `${id}-chart`,
      title,
      desc: `Horizontal bars: ${what} by ${id === 'age' ? 'age' : 'time left until expiry'}; ${rows.map((r) => `${r.bucket}: ${r.count}`).join(', ')}.`,
      categories: rows.map((r) => ({ key: r.bucket, label: r.bucket })),
      series: [{ key: 'count', label: 'credentials' }],
      values: [rows.map((r) => r.count)],
      unit: 'credentials',
    })
  return chartBlock({
    id: 'age-expiry',
    heading: 'Key age and expiry',
    figures: [
      { svg: one('age', 'Key age', h.age), caption: `Age of ${sum(h.age.map((r) => r.count))} ${what}, in whole days since creation.` },
      { svg: one('expiry', 'Time left until expiry', h.expiry), caption: `Time left until expiry of ${sum(h.expiry.map((r) => r.count))} ${what}.` },
    ],
    tables: [
      dataTable({ caption: 'Age', head: ['age', 'count'], rows: h.age.map((r) => [r.bucket, r.count]) }),
      dataTable({ caption: 'Expiry', head: ['expires', 'count'], rows: h.expiry.map((r) => [r.bucket, r.count]) }),
    ],
  })
}

/**
 * Failures by validation code: one bar per code with failures, every code in the table (zeros
 * included), in `INVALID_CODES` order. Shared by the security and usage reports.
 */
export function failuresByCodeSection(counts: Partial<Record<InvalidCode, number>>, context: string): string {
  const rows = INVALID_CODES.map((code) => ({ code, count: counts[code] ?? 0 }))
  const total = sum(rows.map((r) => r.count))
  const drawn = rows.filter((r) => r.count > 0)
  return chartBlock({
    id: 'failures-by-code',
    heading: 'Failures by code',
    figures: [
      {
        svg: stackedBars({
          id: 'failures-by-code-chart',
          title: 'Failed validations by code',
          desc: `Horizontal bars: ${total} failed validations ${context} by code; ${drawn.map((r) => `${r.code}: ${r.count}`).join(', ') || 'none'}.`,
          categories: drawn.map((r) => ({ key: r.code, label: r.code })),
          series: [{ key: 'failed', label: 'failed' }],
          values: [drawn.map((r) => r.count)],
          unit: 'failures',
        }),
        caption: `${total.toLocaleString('en-US')} failed validations ${context}, by the code validation answered.`,
      },
    ],
    tables: [dataTable({ caption: 'Failures by code', head: ['code', 'failures'], rows: [...rows.map((r): [string, number] => [r.code, r.count]), ['total', total]] })],
  })
}
