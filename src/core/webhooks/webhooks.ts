import * as z from 'zod'

import type { CoreContext } from '../context.js'
import { NotFoundError, UsageError } from '../errors.js'
import { printable } from '../printable.js'
import { newPublicId } from '../random-id.js'
import { parseInput } from '../validate-input.js'
import { deliverDue, enqueueTest } from './outbox.js'
import type { DeliveryView, WebhookView } from './repo.js'
import { deleteWebhook, findDelivery, insertWebhook, resetDelivery, selectDeliveries, selectWebhooks, webhookExists } from './repo.js'
import { newWebhookSecret, WEBHOOK_SECRET } from './signature.js'
import { WEBHOOK_EVENTS } from './webhook-events.js'
import { sealWebhookSecret } from './webhook-secret.js'

const USERINFO_REFUSED =
  'must not hold a user or password (https://user:pass@…): momentry would not send them. Deliveries are signed: have the receiver check the webhook-signature header with the webhook\'s secret (your own with --secret-env) instead'

const addInput = z
  .object({
    url: z.string().superRefine((u, ctx) => {
      let url: URL | undefined
      try {
        url = new URL(u)
      } catch {
        url = undefined
      }
      if (!url || !['http:', 'https:'].includes(url.protocol)) ctx.addIssue({ code: 'custom', message: 'must be an http:// or https:// URL' })
      // Credentials in the URL are not sent (undici drops them), and would be stored and listed
      // in full: refused, never echoed. Deliveries are authenticated by their signature instead.
      else if (url.username || url.password) ctx.addIssue({ code: 'custom', message: USERINFO_REFUSED })
    }),
    events: z.array(z.enum(WEBHOOK_EVENTS)).min(1, 'must name at least one event'),
    secret: z.string().regex(WEBHOOK_SECRET, 'must look like whsec_ followed by base64').optional(),
  })
  .strict()

/**
 * Register an endpoint. A generated signing secret is returned, this once; a secret the caller
 * gave is not (`secret: null`): it is theirs already, and echoing it would only put it in
 * another terminal, log or file. Stored sealed under the audit keyring, never in the clear.
 */
export async function addWebhook(ctx: CoreContext, input: z.input<typeof addInput>): Promise<{ webhook: WebhookView; secret: string | null }> {
  const i = parseInput(addInput, input)
  const secret = i.secret ?? newWebhookSecret()
  const id = newPublicId('whk_')
  // Sealed before it reaches the database (sql/0013): only the delivery path opens it again.
  const sealed = await sealWebhookSecret(ctx.audit, id, secret)
  const webhook = await insertWebhook(ctx.sql, { id, url: i.url, events: [...new Set(i.events)], secret: sealed, at: ctx.clock.now(), by: ctx.actor })
  return { webhook, secret: i.secret ? null : secret }
}

export async function listWebhooks(ctx: CoreContext): Promise<WebhookView[]> {
  return selectWebhooks(ctx.sql)
}

export function assertWebhookId(id: string): void {
  if (!/^whk_[0-9A-Za-z]{16}$/.test(id)) throw new UsageError(`"${printable(id)}" is not a webhook id`, 'Webhook ids look like whk_…; `momentry webhook list` shows them')
}

const webhookNotFound = (id: string) => new NotFoundError(`no webhook with id ${id}`, 'Run `momentry webhook list` to see webhook ids')

export async function removeWebhook(ctx: CoreContext, id: string): Promise<WebhookView> {
  assertWebhookId(id)
  const removed = await deleteWebhook(ctx.sql, id)
  if (!removed) throw webhookNotFound(id)
  return removed
}

/** Send a `webhook.test` event to one webhook now; the delivery is recorded like any other. */
export async function testWebhook(ctx: CoreContext, id: string): Promise<DeliveryView> {
  assertWebhookId(id)
  if (!(await webhookExists(ctx.sql, id))) throw webhookNotFound(id)
  return deliverNow(ctx, await enqueueTest(ctx, id))
}

/** Deliveries, newest first, optionally of one webhook. */
export async function listDeliveries(ctx: CoreContext, options: { webhookId?: string; limit?: number } = {}): Promise<DeliveryView[]> {
  if (options.webhookId) {
    assertWebhookId(options.webhookId)
    // Deliveries go with their webhook (on delete cascade): none for an unknown id is a typo, not "none yet".
    if (!(await webhookExists(ctx.sql, options.webhookId))) throw webhookNotFound(options.webhookId)
  }
  return selectDeliveries(ctx.sql, { webhookId: options.webhookId, limit: options.limit ?? 50 })
}

/** Send a delivery again now, whatever its state (e.g. after fixing the receiver). */
export async function redeliver(ctx: CoreContext, deliveryId: string): Promise<DeliveryView> {
  if (!/^msg_[0-9A-Za-z]{20}$/.test(deliveryId)) {
    throw new UsageError(`"${printable(deliveryId)}" is not a delivery id`, '`momentry webhook deliveries` shows them (msg_…)')
  }
  if (!(await resetDelivery(ctx.sql, deliveryId, ctx.clock.now()))) throw new NotFoundError(`no delivery with id ${deliveryId}`, '`momentry webhook deliveries` shows them')
  return deliverNow(ctx, deliveryId)
}

async function deliverNow(ctx: CoreContext, deliveryId: string): Promise<DeliveryView> {
  const [done] = await deliverDue(ctx, { ids: [deliveryId], timeoutMs: 5000 })
  // Nothing sent: another process is sending it right now.
  return done ?? (await findDelivery(ctx.sql, deliveryId))!
}
