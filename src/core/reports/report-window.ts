import { UsageError } from '../errors.js'
import { readableTime } from '../time-text.js'

const DAY_MS = 86_400_000
/** The longest window a report covers: usage older than the default retention is purged anyway. */
export const MAX_REPORT_DAYS = 400

/** A report's window [since, until) and the UTC days it touches. */
export interface ReportWindow {
  since: Date
  until: Date
  /** The first UTC day (`YYYY-MM-DD`): per-day offsets count from it. */
  firstDay: string
  /** Every UTC day the window touches, oldest first. */
  days: string[]
}

export const utcDay = (d: Date) => d.toISOString().slice(0, 10)

/**
 * Check a report's window and list its UTC days: both ends valid times, the start before the
 * end, at most MAX_REPORT_DAYS days touched. Anything else is a UsageError (exit 2).
 */
export function reportWindow(since: Date, until: Date): ReportWindow {
  if (Number.isNaN(since.getTime()) || Number.isNaN(until.getTime())) throw new UsageError('--since/--until: not a valid time', 'Give e.g. --since 30d --until 2027-01-31')
  if (since.getTime() >= until.getTime()) {
    throw new UsageError(`--since (${readableTime(since)}) is not before --until (${readableTime(until)})`, 'Give a start before the end, e.g. --since 30d')
  }
  const firstDay = utcDay(since)
  const dayCount = Math.round((Date.parse(utcDay(new Date(until.getTime() - 1))) - Date.parse(firstDay)) / DAY_MS) + 1
  if (dayCount > MAX_REPORT_DAYS) throw new UsageError(`the window covers ${dayCount} days, more than ${MAX_REPORT_DAYS}`, 'Give a shorter --since, e.g. 90d')
  const days = Array.from({ length: dayCount }, (_, i) => utcDay(new Date(Date.parse(firstDay) + i * DAY_MS)))
  return { since, until, firstDay, days }
}
