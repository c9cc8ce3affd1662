import type { Inventory, InventoryItem } from '../core/reports/inventory.js'
import { csvLines, mdTable } from './report-cells.js'
import { renderTable, shortTime } from './table.js'

export const INVENTORY_FORMATS = ['table', 'json', 'csv', 'md', 'html'] as const
export type InventoryFormat = (typeof INVENTORY_FORMATS)[number]
/** The formats rendered here; html needs the installation summary too (ui/html/inventory-html.ts). */
export type InventoryTextFormat = Exclude<InventoryFormat, 'html'>

const HEAD = ['kind', 'id', 'name', 'type', 'owner', 'service', 'scopes', 'created', 'expires', 'last used', 'age (days)', 'status']

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
]

export function renderInventory(inv: Inventory, format: InventoryTextFormat): string {
  switch (format) {
    case 'json':
      return JSON.stringify(inv, null, 2)
    case 'csv':
      return csvLines([HEAD, ...inv.items.map((i) => cells(i, (s) => s ?? ''))])
    case 'md':
      return [
        `# Credential inventory (${inv.generatedAt})`,
        '',
        ...mdTable(HEAD, inv.items.map((i) => cells(i, (s) => (s ? shortTime(s) : '—')))),
        '',
      ].join('\n')
    default:
      if (inv.items.length === 0) return 'No credentials yet.'
      return renderTable(HEAD, inv.items.map((i) => cells(i, shortTime).map((c) => c || '—')))
  }
}
