import type { DeliveryView, WebhookView } from '../core/webhooks/repo.js'
import { paint } from './paint.js'
import { renderTable, shortTime } from './table.js'
import { timeFromNow } from './time.js'

export function renderWebhooks(list: WebhookView[]): string {
  if (list.length === 0) return 'No webhooks. Add one with `momentry webhook add URL --events key.revoked,anomaly.detected`.'
  return renderTable(['id', 'url', 'events', 'created'], list.map((w) => [w.id, w.url, w.events.join(','), shortTime(w.createdAt)]))
}

const STATUS = { pending: 'yellow', delivered: 'green', failed: 'red' } as const

export function renderDeliveries(list: DeliveryView[]): string {
  if (list.length === 0) return 'No deliveries.'
  return renderTable(
    ['delivery', 'webhook', 'event', 'status', 'attempts', 'last answer', 'next attempt'],
    list.map((d) => [d.id, d.webhookId, d.eventType, paint(STATUS[d.status], d.status), d.attempts, d.lastError ?? d.lastStatus ?? '—', d.status === 'pending' ? shortTime(d.nextAttemptAt) : '—']),
  )
}

export function renderDelivery(d: DeliveryView): string {
  if (d.status === 'delivered') return `${d.id} delivered (HTTP ${d.lastStatus})`
  const why = d.lastError ?? (d.lastStatus ? `HTTP ${d.lastStatus}` : d.status)
  if (d.status === 'failed') return `${d.id} not delivered: ${why}; gave up after ${d.attempts} attempt(s) (\`momentry webhook redeliver ${d.id}\` sends it again)`
  return `${d.id} not delivered: ${why}; will retry at ${timeFromNow(d.nextAttemptAt)}`
}
