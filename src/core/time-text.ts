const EARLIEST_STORABLE = Date.parse('0001-01-01T00:00:00Z')
const LATEST_STORABLE = Date.parse('9999-12-31T23:59:59.999Z')

/** What `isStorableTime` allows, read after "must be a time". */
export const STORABLE_TIMES = 'between 0001-01-01 and 9999-12-31 (UTC)'

/**
 * Whether `t` is a point in time momentry takes as input: a four-digit year from 1 to 9999,
 * UTC. PostgreSQL has no year 0 (`0000-01-01` is error 22008 there), and no date before or
 * after those is anyone's real intent; refused at the edge, a bad one names its field.
 */
export function isStorableTime(t: Date): boolean {
  const ms = t.getTime()
  return ms >= EARLIEST_STORABLE && ms <= LATEST_STORABLE
}

/**
 * `2026-12-02T17:47:05.120Z` → `2026-12-02 17:47:05Z`: the one way momentry writes a point in
 * time for people (messages, detail views), to the second, in UTC, sortable. Tables keep
 * the minute (`src/ui/table.ts` shortTime) where columns are narrow.
 */
export function readableTime(t: Date | string): string {
  const iso = typeof t === 'string' ? new Date(t).toISOString() : t.toISOString()
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`
}

/**
 * How far `t` is from `now`, to the precision that matters at that distance: `in 5 s`,
 * `in 1 min 30 s` (under ten minutes), `in 12 min`, `3 h 20 min ago` (under ten hours),
 * `in 30 h`, `in 89 d`; `now` within half a second.
 */
export function timeDistance(t: Date | string, now: Date): string {
  const ms = new Date(t).getTime() - now.getTime()
  const s = Math.round(Math.abs(ms) / 1000)
  if (s === 0) return 'now'
  const two = (big: number, bigUnit: string, small: number, smallUnit: string) => (small ? `${big} ${bigUnit} ${small} ${smallUnit}` : `${big} ${bigUnit}`)
  const text =
    s < 60
      ? `${s} s`
      : s < 600
        ? two(Math.floor(s / 60), 'min', s % 60, 's')
        : s < 3600
          ? `${Math.round(s / 60)} min`
          : s < 36_000
            ? two(Math.floor(Math.round(s / 60) / 60), 'h', Math.round(s / 60) % 60, 'min')
            : s < 48 * 3600
              ? `${Math.round(s / 3600)} h`
              : `${Math.round(s / 86_400)} d`
  return ms > 0 ? `in ${text}` : `${text} ago`
}
