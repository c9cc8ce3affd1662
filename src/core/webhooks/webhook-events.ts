/** Events a webhook can subscribe to (SPEC §6); the others stay inside the process. */
export const WEBHOOK_EVENTS = [
  'key.created',
  'key.rotated',
  'key.revoked',
  'key.rotation_due',
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
