import * as z from 'zod'

import { randomBase62 } from '../api-keys/key-format.js'
import type { CoreContext } from '../context.js'
import { printable } from '../duration.js'
import { NotFoundError, UsageError } from '../errors.js'
import { parseInput } from '../validate-input.js'
import type { DeliveryView } from './outbox.js'
import { deliverDue, enqueueTest, toDeliveryView } from './outbox.js'
import { newWebhookSecret, WEBHOOK_SECRET } from './signature.js'

/** Events a webhook can subscribe to. */
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
] as const
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number]

export interface WebhookView {
  id: string
  url: string
  events: string[]
  createdAt: string
  createdBy: string
}

const toView = (r: Record<string, any>): WebhookView => ({
  id: r.webhook_id,
  url: r.url,
  events: r.events,
  createdAt: r.created_at.toISOString(),
  createdBy: r.created_by,
})

const addInput = z
  .object({
    url: z.string().refine((u) => {
      try {
        return ['http:', 'https:'].includes(new URL(u).protocol)
      } catch {
        return false
      }
    }, 'must be an http:// or https:// URL'),
    events: z.array(z.enum(WEBHOOK_EVENTS, { message: `events are ${WEBHOOK_EVENTS.join(', ')}` })).min(1, 'name at least one event'),
    secret: z.string().regex(WEBHOOK_SECRET, 'a secret looks like whsec_ followed by base64').optional(),
  })
  .strict()

/** Register an endpoint. Returns its signing secret once (generated unless given). */
export async function addWebhook(ctx: CoreContext, input: z.input<typeof addInput>): Promise<{ webhook: WebhookView; secret: string }> {
  const i = parseInput(addInput, input)
  const secret = i.secret ?? newWebhookSecret()
  const [row] = await ctx.sql`
    insert into webhooks (webhook_id, url, events, secret, created_at, created_by)
    values (${`whk_${randomBase62(16)}`}, ${i.url}, ${[...new Set(i.events)]}::text[], ${secret}, ${ctx.clock.now()}, ${ctx.actor})
    returning *`
  return { webhook: toView(row!), secret }
}

export async function listWebhooks(ctx: CoreContext): Promise<WebhookView[]> {
  return (await ctx.sql`select * from webhooks order by id`).map(toView)
}

export function assertWebhookId(id: string): void {
  if (!/^whk_[0-9A-Za-z]{16}$/.test(id)) throw new UsageError(`"${printable(id)}" is not a webhook id`, 'Webhook ids look like whk_…; `momentry webhook list` shows them')
}

export async function removeWebhook(ctx: CoreContext, id: string): Promise<WebhookView> {
  assertWebhookId(id)
  const [row] = await ctx.sql`delete from webhooks where webhook_id = ${id} returning *`
  if (!row) throw new NotFoundError(`no webhook with id ${id}`, 'Run `momentry webhook list` to see webhook ids')
  return toView(row)
}

const outboxDeps = (ctx: CoreContext) => ({ sql: () => ctx.sql, clock: ctx.clock, log: ctx.log })

/** Send a `webhook.test` event to one webhook now; the delivery is recorded like any other. */
export async function testWebhook(ctx: CoreContext, id: string): Promise<DeliveryView> {
  assertWebhookId(id)
  const [hook] = await ctx.sql`select 1 from webhooks where webhook_id = ${id}`
  if (!hook) throw new NotFoundError(`no webhook with id ${id}`, 'Run `momentry webhook list` to see webhook ids')
  const deliveryId = await enqueueTest(outboxDeps(ctx), id)
  return deliverNow(ctx, deliveryId)
}

/** Deliveries, newest first, optionally of one webhook. */
export async function listDeliveries(ctx: CoreContext, options: { webhookId?: string; limit?: number } = {}): Promise<DeliveryView[]> {
  if (options.webhookId) assertWebhookId(options.webhookId)
  const q = ctx.sql
  const rows = await q`
    select * from webhook_deliveries ${options.webhookId ? q`where webhook_id = ${options.webhookId}` : q``}
    order by id desc limit ${options.limit ?? 50}`
  return rows.map(toDeliveryView)
}

/** Send a delivery again now, whatever its state (e.g. after fixing the receiver). */
export async function redeliver(ctx: CoreContext, deliveryId: string): Promise<DeliveryView> {
  if (!/^msg_[0-9A-Za-z]{20}$/.test(deliveryId)) {
    throw new UsageError(`"${printable(deliveryId)}" is not a delivery id`, '`momentry webhook deliveries` shows them (msg_…)')
  }
  const [row] = await ctx.sql`
    update webhook_deliveries set status = 'pending', next_attempt_at = ${ctx.clock.now()}, attempts = 0
    where delivery_id = ${deliveryId} returning delivery_id`
  if (!row) throw new NotFoundError(`no delivery with id ${deliveryId}`, '`momentry webhook deliveries` shows them')
  return deliverNow(ctx, deliveryId)
}

async function deliverNow(ctx: CoreContext, deliveryId: string): Promise<DeliveryView> {
  const [done] = await deliverDue(outboxDeps(ctx), { ids: [deliveryId], timeoutMs: 5000 })
  if (done) return done
  const [row] = await ctx.sql`select * from webhook_deliveries where delivery_id = ${deliveryId}`
  return toDeliveryView(row!) // another process is sending it right now
}
