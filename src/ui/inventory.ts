import type { Inventory, InventoryItem } from '../core/reports/inventory.js'
import { renderTable, shortTime } from './table.js'

export const INVENTORY_FORMATS = ['table', 'json', 'csv', 'md'] as const
export type InventoryFormat = (typeof INVENTORY_FORMATS)[number]

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

/** RFC 4180 quoting; a leading = + - @ is defused so a spreadsheet never runs a name as a formula. */
function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe
}

const mdCell = (value: string) => value.replace(/[\r\n]+/g, ' ').replaceAll('|', '\\|') || ' '

export function renderInventory(inv: Inventory, format: InventoryFormat): string {
  switch (format) {
    case 'json':
      return JSON.stringify(inv, null, 2)
    case 'csv':
      return [HEAD, ...inv.items.map((i) => cells(i, (s) => s ?? ''))].map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n'
    case 'md':
      return [
        `# Credential inventory (${inv.generatedAt})`,
        '',
        `| ${HEAD.join(' | ')} |`,
        `| ${HEAD.map(() => '---').join(' | ')} |`,
        ...inv.items.map((i) => `| ${cells(i, (s) => (s ? shortTime(s) : '—')).map(mdCell).join(' | ')} |`),
        '',
      ].join('\n')
    default:
      if (inv.items.length === 0) return 'No credentials yet.'
      return renderTable(HEAD, inv.items.map((i) => cells(i, shortTime).map((c) => c || '—')))
  }
}
