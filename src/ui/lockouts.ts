import type { ClearLockoutsResult, LockoutList } from '../core/validation/clear-lockouts.js'
import { renderTable } from './table.js'

/** `14m 59s`, `3s`: the time a lockout has left. */
function left(seconds: number): string {
  const m = Math.floor(seconds / 60)
  return m > 0 ? `${m}m ${String(seconds % 60).padStart(2, '0')}s` : `${seconds}s`
}

export function renderLockouts(list: LockoutList): string {
  if (list.items.length === 0) return 'No IP address is locked out.'
  return renderTable(
    ['ip', 'locked for'],
    list.items.map((l) => [l.ip, left(l.retryAfterSeconds)]),
  )
}

export function renderLockoutsCleared(result: ClearLockoutsResult): string {
  if (result.cleared.length === 0) return 'No IP address was locked out.'
  return result.cleared
    .map((c) => (c.wasLockedOut ? `${c.ip}: lockout lifted (${left(c.retryAfterSeconds)} were left); it may validate again` : `${c.ip}: ${c.attempts} failed attempt(s) forgotten (it was not locked out)`))
    .join('\n')
}
