import { SEVERITY_RANK } from '../anomalies/anomaly-view.js'
import type { MomentryEvent } from '../events.js'

/** Events a webhook can subscribe to (SPEC §6); the others stay inside the process. */
export const WEBHOOK_EVENTS = [
  'key.created',
  'key.rotated',
  'key.revoked',
  'key.rotation_due',
  'key.leaked',
  'anomaly.detected',
  'ip.locked_out',
  'gitea.token.created',
  'gitea.token.rotated',
  'gitea.token.deleted',
  'n8n.key.created',
  'n8n.key.rotated',
  'n8n.key.deleted',
  'audit.checkpoint',
] as const
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number]

export const isWebhookEvent = (type: string): type is WebhookEvent => (WEBHOOK_EVENTS as readonly string[]).includes(type)

/**
 * Whether this event goes to webhooks. Every detection of an open anomaly is an
 * `anomaly.detected` event (the Redis alert channel and `watch` show each repeat), but a
 * webhook hears of an anomaly when it opens and when its severity rises, not ~once a second
 * while it lasts.
 */
export function sendsWebhook(event: MomentryEvent): boolean {
  if (!isWebhookEvent(event.type)) return false
  if (event.type !== 'anomaly.detected') return true
  return event.created || (event.previousSeverity !== null && SEVERITY_RANK[event.alert.severity] > SEVERITY_RANK[event.previousSeverity])
}
