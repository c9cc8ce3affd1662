import type { BlacklistAddResult, BlacklistEntry } from '../core/blacklist/blacklist.js'
import { paint } from './paint.js'
import type { Column } from './table.js'
import { renderTable, shortTime } from './table.js'
import { timeFromNow } from './time.js'

const BLACKLIST_COLUMNS: Column[] = [
  { head: 'network', priority: 1 },
  { head: 'active', priority: 2 },
  { head: 'reason', priority: 3, shrink: 10 },
  { head: 'added', priority: 6 },
  { head: 'by', priority: 5, shrink: 8 },
  { head: 'expires', priority: 4 },
]

/** `width`: the terminal's, to fit it (see renderTable); none draws every column. */
export function renderBlacklist(entries: BlacklistEntry[], width?: number): string {
  if (entries.length === 0) return 'The blacklist is empty.'
  return renderTable(
    BLACKLIST_COLUMNS,
    entries.map((e) => [e.network, e.active ? paint('red', 'yes') : 'no', e.reason ?? '—', shortTime(e.createdAt), e.createdBy, shortTime(e.expiresAt)]),
    { width },
  )
}

export function renderBlacklistChange(e: BlacklistEntry, verb: string): string {
  return `${e.network} ${verb}${e.expiresAt && verb !== 'removed' ? `; expires ${timeFromNow(e.expiresAt)}` : ''}`
}

const reasonText = (r: string | null) => (r === null ? 'none' : `"${r}"`)
const expiryText = (iso: string | null) => (iso === null ? 'never' : timeFromNow(iso))

/**
 * `blacklist add`: added, updated (each change, before → after) or already listed as asked;
 * and, when the address had host bits, that the whole range is what is blocked.
 */
export function renderBlacklistAdd(r: BlacklistAddResult): string {
  const e = r.entry
  const lines: string[] = []
  if (r.created) {
    lines.push(renderBlacklistChange(e, 'added'))
  } else if (r.changes.length === 0) {
    lines.push(`${e.network} is already on the blacklist; nothing changed (reason ${reasonText(e.reason)}, expires ${expiryText(e.expiresAt)}).`)
  } else {
    const what = r.changes.map((c) => (c.field === 'reason' ? `reason ${reasonText(c.from)} → ${reasonText(c.to)}` : `expires ${expiryText(c.from)} → ${expiryText(c.to)}`))
    const kept = [r.changes.some((c) => c.field === 'reason') ? null : `reason ${reasonText(e.reason)}`, r.changes.some((c) => c.field === 'expiresAt') ? null : `expires ${expiryText(e.expiresAt)}`].filter(Boolean)
    lines.push(`${e.network} updated: ${what.join('; ')}${kept.length ? `; kept ${kept.join(', ')}` : ''}.`)
  }
  if (r.hostBitsDropped) lines.push(`Note: ${r.typed} has host bits set; they were dropped, so the whole range ${e.network} is blocked.`)
  return lines.join('\n')
}
