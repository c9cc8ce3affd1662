import type { Inventory, InventoryItem, UntrackedCredential } from '../core/reports/inventory.js'
import { csvLines, mdTable } from './report-cells.js'
import type { Column } from './table.js'
import { renderTable, shortTime, wrapWords } from './table.js'

export const INVENTORY_FORMATS = ['table', 'json', 'csv', 'md', 'html'] as const
export type InventoryFormat = (typeof INVENTORY_FORMATS)[number]
/** The formats rendered here; html needs the installation summary too (ui/html/inventory-html.ts). */
export type InventoryTextFormat = Exclude<InventoryFormat, 'html'>

/** The table's columns, and what a narrow terminal keeps of them (csv and md have them all). */
const COLUMNS: Column[] = [
  { head: 'kind', priority: 2 },
  { head: 'id', priority: 1 },
  { head: 'name', priority: 1, shrink: 12 },
  { head: 'type', priority: 6 },
  { head: 'owner', priority: 5, shrink: 8 },
  { head: 'service', priority: 7, shrink: 10 },
  { head: 'scopes', priority: 9, shrink: 10 },
  { head: 'created', priority: 10 },
  { head: 'expires', priority: 4 },
  { head: 'last used', priority: 8 },
  { head: 'age (days)', priority: 11 },
  { head: 'status', priority: 3 },
  { head: 'drift', priority: 3 },
]
const HEAD = COLUMNS.map((c) => c.head)

const cells = (i: InventoryItem, time: (s: string | null) => string): string[] => [
  i.kind,
  i.id,
  i.name,
  i.type ?? '',
  i.owner ?? '',
  i.service ?? '',
  i.scopes.join(' '),
  time(i.createdAt),
  time(i.expiresAt),
  time(i.lastUsedAt),
  String(i.ageDays),
  i.status,
  i.drift ?? '',
]

/** A credential a server has and momentry did not make: a row of the same table, drift `untracked`. */
const untrackedCells = (u: UntrackedCredential): string[] => [u.kind, u.id, u.name, '', u.owner, u.service, u.scopes.join(' '), '', '', '', '', '', 'untracked']

/** What `--drift` found, one line per server asked. */
const checkLines = (inv: Inventory): string[] =>
  inv.checks.map((c) => `Drift, ${c.service}${c.url ? ` (${c.url})` : ''}: ${c.status === 'checked' ? `checked for ${c.users.join(', ')}` : c.status}${c.message ? `: ${c.message}` : ''}`)

/** `width` (table only): the terminal's, to fit it (see renderTable); none draws every column. */
export function renderInventory(inv: Inventory, format: InventoryTextFormat, width?: number): string {
  switch (format) {
    case 'json':
      return JSON.stringify(inv, null, 2)
    case 'csv':
      return csvLines([HEAD, ...inv.items.map((i) => cells(i, (s) => s ?? '')), ...inv.untracked.map(untrackedCells)])
    case 'md':
      return [
        `# Credential inventory (${inv.window ? `existed ${inv.window.since} – ${inv.window.until}; ` : ''}${inv.generatedAt})`,
        '',
        ...mdTable(HEAD, [...inv.items.map((i) => cells(i, (s) => (s ? shortTime(s) : '—'))), ...inv.untracked.map(untrackedCells)]),
        '',
        ...checkLines(inv).flatMap((l) => [`- ${l}`]),
        ...(inv.checks.length ? [''] : []),
      ].join('\n')
    default:
      if (inv.items.length + inv.untracked.length === 0) return ['No credentials yet.', ...checkLines(inv).map((l) => wrapWords(l, width))].join('\n')
      return [renderTable(COLUMNS, [...inv.items.map((i) => cells(i, shortTime)), ...inv.untracked.map(untrackedCells)].map((row) => row.map((c) => c || '—')), { width }), ...checkLines(inv).map((l) => wrapWords(l, width))].join('\n')
  }
}
