import { createRequire } from 'node:module'

import type TableType from 'cli-table3'

import { colourEnabled } from './paint.js'

/** cli-table3 is loaded when a table is drawn, so commands printing one line start faster. */
const loadTable = () => createRequire(import.meta.url)('cli-table3') as typeof TableType

/** A cli-table3 table with momentry's look; header colour only where colour is allowed. */
export function renderTable(head: string[], rows: (string | number)[][]): string {
  const Table = loadTable()
  const table = new Table({
    head,
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
    style: { head: colourEnabled() ? ['cyan'] : [], border: colourEnabled() ? ['gray'] : [] },
  })
  for (const row of rows) table.push(row.map(String))
  return table.toString()
}

/** `2026-11-22T10:00:00.000Z` → `2026-11-22 10:00Z`: compact, unambiguous, sortable. */
export function shortTime(iso: string | null): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}Z` : '—'
}
