import { readableTime, timeDistance } from '../core/time-text.js'

/** A point in time to the second (`2026-12-02 17:47:05Z`), `—` for none. */
export function exactTime(iso: string | null): string {
  return iso ? readableTime(iso) : '—'
}

/**
 * A point in time to the second with how far it is from now, for what someone waits for or
 * acts on: `2026-12-02 17:47:05Z (in 5 s)`, `2026-11-30 09:00:00Z (2 d ago)`; `—` for none.
 */
export function timeFromNow(iso: string | null, now: Date = new Date()): string {
  return iso ? `${readableTime(iso)} (${timeDistance(iso, now)})` : '—'
}
