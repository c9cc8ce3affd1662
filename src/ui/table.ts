import { createRequire } from 'node:module'

import { paint } from './paint.js'

/** string-width is loaded when a table is drawn, so commands printing one line start faster. */
const loadWidth = () => createRequire(import.meta.url)('string-width') as (s: string) => number

/**
 * A column that may give way when the table must fit a terminal. `priority` 1 is the most
 * important: columns are dropped least important first (on a tie, the rightmost first).
 * `shrink`: the column may be shortened with … down to this many characters before it is
 * dropped (for free text such as names, scopes, URLs; never for ids, times and counts, which
 * are useless cut). A plain string column is never dropped nor shortened.
 */
export interface Column {
  head: string
  priority: number
  shrink?: number
}

export interface TableOptions {
  /**
   * Fit this many terminal columns: shorten and drop columns by their `priority` and
   * `shrink`, then say under the table which were hidden. Without it every column is drawn in
   * full (what pipes, files and `--wide` get).
   */
  width?: number
}

const ANSI = /\u001B\[[0-9;]*m/g
const headText = (c: string | Column) => (typeof c === 'string' ? c : c.head)

/** `text` cut to `room` terminal columns, ending with … (colour is dropped from a cut cell). */
function clip(text: string, room: number, width: (s: string) => number): [string, number] {
  const plain = text.replace(ANSI, '')
  let out = ''
  let used = 0
  for (const ch of plain) {
    const w = width(ch)
    if (used + w > room - 1) break
    out += ch
    used += w
  }
  return [`${out}…`, used + 1]
}

/** A shortened column narrower than this gives way to no less important column: it takes that one's room. */
const READABLE = 16

/**
 * Which columns to draw and how wide, to fit `width`: the columns in order of importance,
 * each kept if it still fits at its narrowest (so a narrow, less important column may stay
 * where a wide one went); the room left then widens the shortened ones, most important first.
 * While a shortened column is still cut below READABLE characters, the least important column
 * kept after it is dropped to widen it (a name cut to 12 beside an owner cut to 8 reads
 * worse than the whole name alone). The most important column is always kept.
 */
function fit(columns: readonly (string | Column)[], natural: number[], width: number): { widths: number[]; hidden: number[] } {
  const spec = columns.map((c) => (typeof c === 'string' ? { head: c, priority: 0 } : c))
  const narrowest = natural.map((n, i) => Math.min(n, Math.max(1, spec[i]!.shrink ?? n)))
  const order = spec.map((_, i) => i).sort((a, b) => spec[a]!.priority - spec[b]!.priority || a - b)
  const droppable = (i: number) => i !== order[0] && spec[i]!.priority !== 0
  const kept = new Set<number>()
  let room = width - 1 // the left border
  for (const i of order) {
    if (!droppable(i) || narrowest[i]! + 3 <= room) {
      kept.add(i)
      room -= narrowest[i]! + 3
    }
  }
  const layout = () => {
    const widths = natural.map((_, i) => (kept.has(i) ? narrowest[i]! : -1))
    let left = width - 1 - [...kept].reduce((n, i) => n + narrowest[i]! + 3, 0)
    for (const i of order) {
      if (widths[i]! < 0 || left <= 0) continue
      const more = Math.min(left, natural[i]! - widths[i]!)
      widths[i]! += more
      left -= more
    }
    return { widths, left }
  }
  let { widths, left } = layout()
  for (;;) {
    const cramped = order.findIndex((i) => widths[i]! >= 0 && widths[i]! < Math.min(natural[i]!, READABLE))
    const victim = cramped < 0 ? undefined : order.slice(cramped + 1).reverse().find((i) => kept.has(i) && droppable(i))
    if (victim === undefined) break
    kept.delete(victim)
    ;({ widths, left } = layout())
  }
  if (left < 0) {
    // Only the kept-anyway columns are left and still too wide: the first shortenable one gives.
    const i = order.find((c) => widths[c]! >= 0 && spec[c]!.shrink !== undefined)
    if (i !== undefined) widths[i] = Math.max(1, widths[i]! + left)
  }
  return { widths, hidden: widths.flatMap((w, i) => (w < 0 ? [i] : [])) }
}

/**
 * A boxed table: a border around, columns split by │, no rule between rows, one space of
 * padding; the header cyan and the border grey where colour is allowed. Drawn here rather
 * than by cli-table3, which laid out a 10k-row report in 13 s (it measures and wraps every
 * cell several times); this measures each cell once and is linear in the cells.
 *
 * Given `options.width`, the table fits it (see `Column`), with a line under it naming the
 * columns it hid.
 */
export function renderTable(head: readonly (string | Column)[], rows: (string | number)[][], options: TableOptions = {}): string {
  const width = loadWidth()
  const cells = [head.map(headText), ...rows.map((r) => r.map(String))].map((r) => r.map((c) => c.split('\n')))
  const natural: number[] = head.map(() => 0)
  const measured = cells.map((r) =>
    r.map((lines, c) =>
      lines.map((line) => {
        const w = width(line)
        if (w > (natural[c] ?? 0)) natural[c] = w
        return w
      }),
    ),
  )
  const fitted = options.width === undefined ? undefined : fit(head, natural, options.width)
  const widths = fitted?.widths ?? natural
  const shown = widths.flatMap((w, c) => (w >= 0 ? [c] : []))
  const rule = (left: string, mid: string, right: string) => paint('gray', `${left}${shown.map((c) => '─'.repeat(widths[c]! + 2)).join(mid)}${right}`)
  const bar = paint('gray', '│')
  const out = [rule('┌', '┬', '┐')]
  cells.forEach((r, i) => {
    const height = Math.max(1, ...r.map((lines) => lines.length))
    for (let l = 0; l < height; l++) {
      const parts = shown.map((c) => {
        const w = widths[c]!
        let text = r[c]?.[l] ?? ''
        let used = measured[i]![c]?.[l] ?? 0
        if (used > w) [text, used] = clip(text, w, width)
        const padded = `${text}${' '.repeat(w - used)}`
        return ` ${i === 0 && text ? paint('cyan', padded) : padded} `
      })
      out.push(`${bar}${parts.join(bar)}${bar}`)
    }
  })
  out.push(rule('└', '┴', '┘'))
  if (fitted?.hidden.length) {
    const note = `hidden to fit: ${fitted.hidden.map((c) => headText(head[c]!)).join(', ')} (--wide shows all)`
    out.push(paint('gray', width(note) > options.width! ? clip(note, options.width!, width)[0] : note))
  }
  return out.join('\n')
}

/** Prose broken at spaces into lines of at most `width` columns (a word longer than that stays whole); none: as is. */
export function wrapWords(text: string, width?: number): string {
  if (width === undefined) return text
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else {
      line = line ? `${line} ${word}` : word
    }
  }
  return [...lines, line].join('\n')
}

/** `2026-11-22T10:00:00.000Z` → `2026-11-22 10:00Z`: compact, unambiguous, sortable. */
export function shortTime(iso: string | null): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}Z` : '—'
}
