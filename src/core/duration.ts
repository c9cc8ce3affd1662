import { printable } from './printable.js'
import { UsageError } from './errors.js'

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 } as const
const DURATION = /^(\d{1,10})([smhdw])$/
/** 100 years: far enough for any key lifetime, small enough to stay an exact Date. */
export const MAX_DURATION_SECONDS = 100 * 365 * 86_400

/**
 * Parse `<n>s|m|h|d|w` (e.g. `90d`, `12h`) into seconds. Anything else is a usage error
 * that names the flag it came from, with an example that fits it (`2s` for a refresh
 * interval, `30d` for a lifetime).
 */
export function parseDuration(input: string, label = 'duration', { allowZero = false, example = '30d' } = {}): number {
  const match = DURATION.exec(input.trim())
  if (!match) {
    throw new UsageError(
      `${label}: "${printable(input)}" is not a duration`,
      `Use a whole number and one unit of s, m, h, d or w, e.g. ${example}`,
    )
  }
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS]
  if (seconds === 0 && !allowZero) throw new UsageError(`${label}: must be longer than zero`, `Use e.g. ${example}`)
  if (seconds > MAX_DURATION_SECONDS) throw new UsageError(`${label}: ${printable(input)} is longer than 100 years`, 'Use a shorter duration')
  return seconds
}

/** Render seconds back into the largest exact unit (`172800` → `2d`). */
export function formatDuration(seconds: number): string {
  for (const [unit, size] of [['w', 604_800], ['d', 86_400], ['h', 3600], ['m', 60]] as const) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`
  }
  return `${seconds}s`
}
