import type { DeliveryView, WebhookView } from '../core/webhooks/repo.js'
import { paint } from './paint.js'
import type { Column } from './table.js'
import { renderTable, shortTime } from './table.js'
import { timeFromNow } from './time.js'

const WEBHOOK_COLUMNS: Column[] = [
  { head: 'id', priority: 1 },
  { head: 'url', priority: 1, shrink: 20 },
  { head: 'events', priority: 2, shrink: 12 },
  { head: 'created', priority: 3 },
]

/** `width`: the terminal's, to fit it (see renderTable); none draws every column. */
export function renderWebhooks(list: WebhookView[], width?: number): string {
  if (list.length === 0) return 'No webhooks. Add one with `momentry webhook add URL --events key.revoked,anomaly.detected`.'
  return renderTable(WEBHOOK_COLUMNS, list.map((w) => [w.id, w.url, w.events.join(','), shortTime(w.createdAt)]), { width })
}

const STATUS = { pending: 'yellow', delivered: 'green', failed: 'red' } as const

const DELIVERY_COLUMNS: Column[] = [
  { head: 'delivery', priority: 1 },
  { head: 'webhook', priority: 6 },
  { head: 'event', priority: 2 },
  { head: 'status', priority: 2 },
  { head: 'attempts', priority: 5 },
  { head: 'last answer', priority: 3, shrink: 12 },
  { head: 'next attempt', priority: 4 },
]

/** `width`: the terminal's, to fit it (see renderTable); none draws every column. */
export function renderDeliveries(list: DeliveryView[], width?: number): string {
  if (list.length === 0) return 'No deliveries.'
  return renderTable(
    DELIVERY_COLUMNS,
    list.map((d) => [d.id, d.webhookId, d.eventType, paint(STATUS[d.status], d.status), d.attempts, d.lastError ?? d.lastStatus ?? '—', d.status === 'pending' ? shortTime(d.nextAttemptAt) : '—']),
    { width },
  )
}

export function renderDelivery(d: DeliveryView): string {
  if (d.status === 'delivered') return `${d.id} delivered (HTTP ${d.lastStatus})`
  const why = d.lastError ?? (d.lastStatus ? `HTTP ${d.lastStatus}` : d.status)
  if (d.status === 'failed') return `${d.id} not delivered: ${why}; gave up after ${d.attempts} attempt(s) (\`momentry webhook redeliver ${d.id}\` sends it again)`
  return `${d.id} not delivered: ${why}; will retry at ${timeFromNow(d.nextAttemptAt)}`
}
