import { clip, escapeXml as esc } from './escape.js'

/** One bar position: a day, a key, a bucket. `key` is what `data-category` says; `label` is drawn on the axis. */
export interface ChartCategory {
  key: string
  label: string
  /** The full name in each mark's tooltip (default `label`). */
  title?: string
}

export interface ChartSeries {
  key: string
  label: string
  /** A colour of its own (severity scales); default: the series' place in the palette. */
  color?: string
}

export interface ChartSpec {
  /** Unique in the page: the prefix of the chart's element ids (title, desc, patterns). */
  id: string
  title: string
  /** The text alternative: what the chart shows, in words, with its totals. */
  desc: string
  categories: ChartCategory[]
  series: ChartSeries[]
  /** `values[series][category]`, whole counts. */
  values: number[][]
  /** What is counted, plural ("validations"). */
  unit: string
}

/**
 * Okabe–Ito colours (told apart with the common colour-vision deficiencies), ordered so that
 * neighbours differ in lightness too; every odd series is also hatched, so the series stay
 * apart printed in grey.
 */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'] as const

/** A scale for counts from 0: steps of 1, 2 or 5 × 10^k, whole numbers, about `target` steps, the top at or above `max`. */
export function niceScale(max: number, target = 5): { top: number; step: number; ticks: number[] } {
  if (!(max > 0)) return { top: 1, step: 1, ticks: [0, 1] }
  const raw = max / target
  const magnitude = 10 ** Math.floor(Math.log10(raw))
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!)
  const top = Math.ceil(max / step) * step
  return { top, step, ticks: Array.from({ length: top / step + 1 }, (_, i) => i * step) }
}

/** A tick label: 1200 → 1,200; 25000 → 25k; 3000000 → 3M (ticks are 1-2-5 steps, so these are exact). */
export function tickLabel(v: number): string {
  if (v >= 1_000_000 && v % 100_000 === 0) return `${v / 1_000_000}M`
  if (v >= 10_000 && v % 100 === 0) return `${v / 1000}k`
  return v.toLocaleString('en-US')
}

const n2 = (v: number) => String(Math.round(v * 100) / 100)
const count = (v: number) => v.toLocaleString('en-US')

/** The fill of series `s`: its colour, hatched for odd series (a pattern in the chart's defs). */
function fills(spec: ChartSpec): { defs: string; fill: (s: number) => string } {
  const colours = spec.series.map((series, s) => series.color ?? PALETTE[s % PALETTE.length]!)
  const defs = colours
    .map((c, s) =>
      s % 2 === 1
        ? `<pattern id="${esc(spec.id)}-p${s}" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)"><rect width="6" height="6" fill="${c}"/><line x1="0" y1="0" x2="0" y2="6" stroke="#fff" stroke-width="2"/></pattern>`
        : '',
    )
    .join('')
  return { defs: defs ? `<defs>${defs}</defs>` : '', fill: (s) => (s % 2 === 1 ? `url(#${esc(spec.id)}-p${s})` : colours[s]!) }
}

/** Legend swatches in rows across `width`, from (x, y); returns the markup and the height used. */
function legend(spec: ChartSpec, fill: (s: number) => string, x: number, y: number, width: number): { svg: string; height: number } {
  if (spec.series.length < 2) return { svg: '', height: 0 }
  let [cx, cy] = [x, y]
  const items = spec.series.map((series, s) => {
    const label = clip(series.label, 28)
    const w = 16 + label.length * 6.5 + 14
    if (cx + w > x + width && cx > x) [cx, cy] = [x, cy + 16]
    const item = `<rect class="swatch" x="${n2(cx)}" y="${n2(cy)}" width="10" height="10" fill="${fill(s)}" stroke="#333" stroke-width="0.5"/><text x="${n2(cx + 14)}" y="${n2(cy + 9)}">${esc(label)}</text>`
    cx += w
    return item
  })
  return { svg: `<g class="legend">${items.join('')}</g>`, height: cy - y + 18 }
}

function open(spec: ChartSpec, width: number, height: number): string {
  const id = esc(spec.id)
  return `<svg class="chart" id="${id}" role="img" aria-labelledby="${id}-title ${id}-desc" viewBox="0 0 ${width} ${n2(height)}" width="${width}" height="${n2(height)}"><title id="${id}-title">${esc(spec.title)}</title><desc id="${id}-desc">${esc(spec.desc)}</desc>`
}

function mark(spec: ChartSpec, s: number, c: number, fill: string, box: { x: number; y: number; w: number; h: number }): string {
  const series = spec.series[s]!
  const category = spec.categories[c]!
  const v = spec.values[s]![c]!
  const tip = `${category.title ?? category.label} — ${series.label}: ${count(v)} ${spec.unit}`
  return `<rect class="bar" data-series="${esc(series.key)}" data-category="${esc(category.key)}" data-value="${v}" x="${n2(box.x)}" y="${n2(box.y)}" width="${n2(box.w)}" height="${n2(box.h)}" fill="${fill}"><title>${esc(tip)}</title></rect>`
}

const totalAt = (spec: ChartSpec, c: number) => spec.series.reduce((sum, _, s) => sum + Math.max(0, spec.values[s]![c] ?? 0), 0)

/**
 * Stacked columns over categories left to right (days): one `rect.bar` per non-zero value, the
 * series stacked from the axis in their order, gridlines at a 1-2-5 scale, at most ~10 axis
 * labels (every k-th category), a legend when there is more than one series.
 */
export function stackedColumns(spec: ChartSpec): string {
  const width = 720
  const { defs, fill } = fills(spec)
  // The unit heads the value axis; the legend follows it on the same line.
  const legendX = 56 + spec.unit.length * 6.5 + 24
  const key = legend(spec, fill, legendX, 6, width - 12 - legendX)
  const top = 22 + Math.max(0, key.height - 18)
  const [left, right, bottom, plotH] = [56, 12, 40, 200]
  const plotW = width - left - right
  const height = top + plotH + bottom
  const n = spec.categories.length
  const scale = niceScale(Math.max(0, ...spec.categories.map((_, c) => totalAt(spec, c))))
  const y = (v: number) => top + plotH - (v / scale.top) * plotH
  const grid = scale.ticks
    .map((t) => `<line class="grid" x1="${left}" x2="${width - right}" y1="${n2(y(t))}" y2="${n2(y(t))}"/><text class="tick" x="${left - 6}" y="${n2(y(t) + 4)}" text-anchor="end">${tickLabel(t)}</text>`)
    .join('')
  const band = n ? plotW / n : plotW
  const barW = Math.max(0.5, band * 0.8)
  const every = Math.max(1, Math.ceil(n / Math.floor(plotW / 64)))
  const marks: string[] = []
  const labels: string[] = []
  spec.categories.forEach((category, c) => {
    const x = left + c * band + (band - barW) / 2
    let base = 0
    spec.series.forEach((_, s) => {
      const v = spec.values[s]![c] ?? 0
      if (v <= 0) return
      marks.push(mark(spec, s, c, fill(s), { x, y: y(base + v), w: barW, h: y(base) - y(base + v) }))
      base += v
    })
    if (c % every === 0) labels.push(`<text class="label" x="${n2(left + c * band + band / 2)}" y="${top + plotH + 16}" text-anchor="middle">${esc(clip(category.label, 12))}</text>`)
  })
  return [
    open(spec, width, height),
    defs,
    key.svg,
    `<text class="unit" x="${left}" y="15">${esc(spec.unit)}</text>`,
    `<g class="grid">${grid}</g>`,
    `<g class="marks">${marks.join('')}</g>`,
    `<line class="axis" x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}"/>`,
    `<g class="labels">${labels.join('')}</g>`,
    '</svg>',
  ].join('')
}

/**
 * Stacked horizontal bars, one row per category top to bottom (keys, codes, buckets): one
 * `rect.bar` per non-zero value, the row's total at the end of its bar, gridlines at a 1-2-5
 * scale, a legend when there is more than one series. No categories: a chart that says so.
 */
export function stackedBars(spec: ChartSpec): string {
  const width = 720
  const { defs, fill } = fills(spec)
  const [left, right, rowH, barH] = [180, 56, 22, 14]
  const key = legend(spec, fill, left, 8, width - left - right)
  const top = 12 + key.height
  const n = spec.categories.length
  const plotH = Math.max(1, n) * rowH
  const height = top + plotH + 26
  const plotW = width - left - right
  const scale = niceScale(Math.max(0, ...spec.categories.map((_, c) => totalAt(spec, c))), 6)
  const x = (v: number) => left + (v / scale.top) * plotW
  const grid = scale.ticks
    .map((t) => `<line class="grid" x1="${n2(x(t))}" x2="${n2(x(t))}" y1="${top}" y2="${top + plotH}"/><text class="tick" x="${n2(x(t))}" y="${top + plotH + 16}" text-anchor="middle">${tickLabel(t)}</text>`)
    .join('')
  const marks: string[] = []
  const rows: string[] = []
  spec.categories.forEach((category, c) => {
    const y = top + c * rowH + (rowH - barH) / 2
    let base = 0
    spec.series.forEach((_, s) => {
      const v = spec.values[s]![c] ?? 0
      if (v <= 0) return
      marks.push(mark(spec, s, c, fill(s), { x: x(base), y, w: x(base + v) - x(base), h: barH }))
      base += v
    })
    rows.push(
      `<text class="label" x="${left - 6}" y="${n2(y + barH - 3)}" text-anchor="end">${esc(clip(category.label, 26))}</text><text class="value" x="${n2(x(base) + 4)}" y="${n2(y + barH - 3)}">${count(base)}</text>`,
    )
  })
  const empty = n ? '' : `<text class="empty" x="${left + 6}" y="${top + 15}">nothing to show</text>`
  return [
    open(spec, width, height),
    defs,
    key.svg,
    `<g class="grid">${grid}</g>`,
    `<g class="marks">${marks.join('')}</g>`,
    `<line class="axis" x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}"/>`,
    `<g class="labels">${rows.join('')}${empty}</g>`,
    '</svg>',
  ].join('')
}
