import type { BlacklistEntry } from '../core/blacklist/blacklist.js'
import { paint } from './paint.js'
import { renderTable, shortTime } from './table.js'

export function renderBlacklist(entries: BlacklistEntry[]): string {
  if (entries.length === 0) return 'The blacklist is empty.'
  return renderTable(
    ['network', 'active', 'reason', 'added', 'by', 'expires'],
    entries.map((e) => [e.network, e.active ? paint('red', 'yes') : 'no', e.reason ?? '—', shortTime(e.createdAt), e.createdBy, shortTime(e.expiresAt)]),
  )
}

export function renderBlacklistChange(e: BlacklistEntry, verb: string): string {
  return `${e.network} ${verb}${e.expiresAt && verb !== 'removed' ? ` (until ${shortTime(e.expiresAt)})` : ''}`
}
