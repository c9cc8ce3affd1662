import { createRequire } from 'node:module'

import { paint } from './paint.js'

/** string-width is loaded when a table is drawn, so commands printing one line start faster. */
const loadWidth = () => createRequire(import.meta.url)('string-width') as (s: string) => number

/**
 * A boxed table: a border around, columns split by │, no rule between rows, one space of
 * padding; the header cyan and the border grey where colour is allowed. Drawn here rather
 * than by cli-table3, which laid out a 10k-row report in 13 s (it measures and wraps every
 * cell several times); this measures each cell once and is linear in the cells.
 */
export function renderTable(head: string[], rows: (string | number)[][]): string {
  const width = loadWidth()
  const cells = [head, ...rows.map((r) => r.map(String))].map((r) => r.map((c) => c.split('\n')))
  const widths: number[] = head.map(() => 0)
  const measured = cells.map((r) =>
    r.map((lines, c) =>
      lines.map((line) => {
        const w = width(line)
        if (w > (widths[c] ?? 0)) widths[c] = w
        return w
      }),
    ),
  )
  const rule = (left: string, mid: string, right: string) => paint('gray', `${left}${widths.map((w) => '─'.repeat(w + 2)).join(mid)}${right}`)
  const bar = paint('gray', '│')
  const out = [rule('┌', '┬', '┐')]
  cells.forEach((r, i) => {
    const height = Math.max(1, ...r.map((lines) => lines.length))
    for (let l = 0; l < height; l++) {
      const parts = widths.map((w, c) => {
        const text = r[c]?.[l] ?? ''
        const padded = `${text}${' '.repeat(w - (measured[i]![c]?.[l] ?? 0))}`
        return ` ${i === 0 && text ? paint('cyan', padded) : padded} `
      })
      out.push(`${bar}${parts.join(bar)}${bar}`)
    }
  })
  out.push(rule('└', '┴', '┘'))
  return out.join('\n')
}

/** `2026-11-22T10:00:00.000Z` → `2026-11-22 10:00Z`: compact, unambiguous, sortable. */
export function shortTime(iso: string | null): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}Z` : '—'
}
