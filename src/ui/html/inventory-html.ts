import type { Inventory, InventoryItem } from '../../core/reports/inventory.js'
import { ageExpiryHistogram } from '../../core/reports/histogram.js'
import type { ReportSummary } from '../../core/reports/summary.js'
import { chartBlock, dataTable, htmlDocument, listBlock, summaryBlock } from './document.js'
import { histogramSection, minute } from './sections.js'
import { stackedBars } from './svg-charts.js'

const KINDS: InventoryItem['kind'][] = ['momentry-key', 'gitea-token', 'n8n-api-key']
/** Statuses in the order the chart stacks them; one the code does not know yet goes last. */
const STATUS_ORDER = ['active', 'rotating', 'disabled', 'expired', 'revoked', 'deleted']

/** Credentials that have ended (revoked, deleted) are left out of the age and expiry histogram. */
const ENDED = new Set(['revoked', 'deleted'])

/** Counts per kind (every kind) and status (those present, in `STATUS_ORDER`). */
export function countByKindAndStatus(inv: Inventory): { statuses: string[]; counts: Record<InventoryItem['kind'], Record<string, number>> } {
  const statuses = [...new Set(inv.items.map((i) => i.status))].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
  const counts = Object.fromEntries(KINDS.map((k) => [k, Object.fromEntries(statuses.map((s) => [s, 0]))])) as Record<InventoryItem['kind'], Record<string, number>>
  for (const i of inv.items) counts[i.kind][i.status]!++
  return { statuses, counts }
}
const rank = (status: string) => (STATUS_ORDER.includes(status) ? STATUS_ORDER.indexOf(status) : STATUS_ORDER.length)

const liveHistogram = (inv: Inventory) => ageExpiryHistogram(inv.items.filter((i) => !ENDED.has(i.status)), new Date(inv.generatedAt))

/** What the page embeds as JSON: the chart data, the summary, and every credential (an inventory is small). */
export function inventoryHtmlData(inv: Inventory, summary: ReportSummary) {
  return { report: 'inventory' as const, generatedAt: inv.generatedAt, summary, counts: inv.counts, byKindAndStatus: countByKindAndStatus(inv).counts, histogram: liveHistogram(inv), items: inv.items, checks: inv.checks, untracked: inv.untracked }
}

/**
 * `report inventory --format html`: the summary, credentials by kind and status, the age and
 * expiry of the live ones, and the whole credential table.
 */
export function renderInventoryHtml(inv: Inventory, summary: ReportSummary): string {
  const { statuses, counts } = countByKindAndStatus(inv)
  const total = (kind: InventoryItem['kind']) => statuses.reduce((n, s) => n + counts[kind][s]!, 0)
  const byKind = chartBlock({
    id: 'by-kind-status',
    heading: 'Credentials by kind and status',
    figures: [
      {
        svg: stackedBars({
          id: 'by-kind-status-chart',
          title: 'Credentials by kind and status',
          desc: `Horizontal stacked bars: ${inv.items.length} credentials by kind, stacked by status; ${KINDS.map((k) => `${k}: ${statuses.filter((s) => counts[k][s]).map((s) => `${counts[k][s]} ${s}`).join(', ') || 'none'}`).join('; ')}.`,
          categories: KINDS.map((k) => ({ key: k, label: k })),
          series: statuses.map((s) => ({ key: s, label: s })),
          values: statuses.map((s) => KINDS.map((k) => counts[k][s]!)),
          unit: 'credentials',
        }),
        caption: `Every credential momentry knows of (${inv.items.length}), by kind, stacked by status.`,
      },
    ],
    tables: [
      dataTable({
        caption: 'Credentials by kind and status',
        head: ['kind', ...statuses, 'total'],
        rows: [...KINDS.map((k) => [k, ...statuses.map((s) => counts[k][s]!), total(k)]), ['total', ...statuses.map((s) => KINDS.reduce((n, k) => n + counts[k][s]!, 0)), inv.items.length]],
      }),
    ],
  })
  const table = listBlock({
    id: 'credentials',
    heading: 'Every credential',
    note: inv.checks.length
      ? `Drift: ${inv.checks.map((c) => `${c.service} ${c.status === 'checked' ? `checked for ${c.users.join(', ')}` : c.status}${c.message ? ` (${c.message})` : ''}`).join('; ')}. Gitea and n8n do not report last use. No secret is in this report.`
      : 'From momentry’s own records (run with --drift to compare with the servers); Gitea and n8n do not report last use. No secret is in this report.',
    tables: [
      dataTable({
        caption: `${inv.items.length} credential(s), momentry keys first, newest first within a kind`,
        head: ['id', 'kind', 'name', 'type', 'owner', 'service', 'scopes', 'created', 'expires', 'last used', 'age (days)', 'status', 'drift'],
        rows: inv.items.map((i) => [i.id, i.kind, i.name, i.type ?? '—', i.owner ?? '—', i.service ?? '—', i.scopes.join(' ') || '—', minute(i.createdAt), minute(i.expiresAt), minute(i.lastUsedAt), i.ageDays, i.status, i.drift ?? '—']),
        empty: 'No credentials yet.',
      }),
      ...(inv.untracked.length
        ? [
            dataTable({
              caption: `${inv.untracked.length} credential(s) on the servers that momentry did not make (untracked)`,
              head: ['id', 'kind', 'name', 'owner', 'service', 'scopes'],
              rows: inv.untracked.map((u) => [u.id, u.kind, u.name, u.owner, u.service, u.scopes.join(' ') || '—']),
              empty: '',
            }),
          ]
        : []),
    ],
  })
  return htmlDocument({
    title: 'momentry credential inventory',
    subtitle: `${inv.window ? `Credentials that existed from ${minute(inv.window.since)} to ${minute(inv.window.until)}` : 'Every credential momentry knows of'}; made ${minute(inv.generatedAt)}.`,
    summary: summaryBlock(summary, {
      heading: 'This report',
      facts: [
        { id: 'credentials', label: 'Credentials', value: inv.items.length },
        ...KINDS.map((k) => ({ id: `count-${k}`, label: k, value: inv.counts[k] })),
      ],
    }),
    sections: [byKind, histogramSection(liveHistogram(inv), 'live credentials (not revoked or deleted)'), table],
    data: inventoryHtmlData(inv, summary),
  })
}
