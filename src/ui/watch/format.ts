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

/** `key_Xq3b`: enough of a key id to tell keys of one name apart at a glance. */
export const shortKeyId = (keyId: string) => keyId.slice(0, 8)

/** Names given to more than one of these keys (a rotation keeps the name: old keys in grace share it). */
export function sharedNames(keys: readonly { keyId: string; name: string | null }[]): Set<string> {
  const ids = new Map<string, Set<string>>()
  for (const k of keys) if (k.name !== null) ids.set(k.name, (ids.get(k.name) ?? new Set()).add(k.keyId))
  return new Set([...ids].filter(([, set]) => set.size > 1).map(([name]) => name))
}

/**
 * A key as a row of `width` characters shows it: its name, followed by a short id when the
 * name is shared (`shared`) so the rows can be told apart, the name shortened with … to
 * keep the id in view; the id alone for a key without a name (purged).
 */
export function keyLabel(k: { keyId: string; name: string | null }, shared: ReadonlySet<string>, width: number): string {
  if (k.name === null) return k.keyId
  if (!shared.has(k.name)) return k.name
  const id = shortKeyId(k.keyId)
  const room = Math.max(1, width - id.length - 1)
  return `${k.name.length > room ? `${k.name.slice(0, room - 1)}…` : k.name} ${id}`
}
