import type { AnomalyAlert } from '../../core/anomalies/anomaly-view.js'

const BARS = '▁▂▃▄▅▆▇█'

/**
 * A sparkline of the last `width` values: blank for zero, ▁…█ scaled to the largest value
 * (so any traffic at all is visible, and the busiest minute is a full block).
 */
export function sparkline(values: readonly number[], width = values.length): string {
  const shown = width <= 0 ? [] : values.slice(-width)
  const max = Math.max(0, ...shown.filter(Number.isFinite))
  return shown
    .map((v) => {
      if (!Number.isFinite(v) || v <= 0 || max <= 0) return ' '
      return BARS[Math.min(BARS.length - 1, Math.ceil((v / max) * BARS.length) - 1)]!
    })
    .join('')
}

/** 12:03:04 in local time, as an operator reads the clock. */
export function clockTime(iso: string): string {
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? '--:--:--' : d.toTimeString().slice(0, 8)
}

export function compactNumber(n: number): string {
  if (Math.abs(n) < 10_000) return String(Math.round(n * 100) / 100)
  if (Math.abs(n) < 10_000_000) return `${Math.round(n / 1000)}k`
  return `${Math.round(n / 1_000_000)}M`
}

/** Line mode: one readable line per alert, fields in a fixed order for grep and awk. */
export function alertLine(a: AnomalyAlert): string {
  return [
    a.detectedAt,
    a.severity.toUpperCase().padEnd(8),
    a.type.padEnd(17),
    a.keyId,
    JSON.stringify(a.keyName),
    `observed=${a.observed}`,
    `threshold=${a.threshold}`,
    `window=${a.windowSeconds}s`,
    a.id,
  ].join(' ')
}
