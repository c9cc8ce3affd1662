import type { Sealed } from '../audit/audit-keys.js'
import { redactUrl } from '../config.js'
import type { Queryable } from '../db/connect.js'

export interface WebhookView {
  id: string
  url: string
  events: string[]
  createdAt: string
  createdBy: string
}

export interface DeliveryView {
  id: string
  webhookId: string
  eventType: string
  status: 'pending' | 'delivered' | 'failed'
  attempts: number
  nextAttemptAt: string
  lastStatus: number | null
  lastError: string | null
  createdAt: string
  deliveredAt: string | null
}

/**
 * A webhook's signing secret as stored: sealed under the audit keyring (sql/0013), or, in a row
 * written before that and not sealed yet, in the clear.
 */
export type StoredSecret = { sealed: Sealed } | { plain: string }

/** A delivery claimed for sending: what to send, where, and with which secret. */
export interface DueDelivery {
  rowId: string
  deliveryId: string
  webhookId: string
  url: string
  secret: StoredSecret
  payload: unknown
  attempts: number
}

const storedSecret = (r: Record<string, any>): StoredSecret =>
  r.secret_sealed ? { sealed: { keyId: r.secret_key_id, nonce: r.secret_nonce, ciphertext: r.secret_sealed } } : { plain: r.secret }

const toWebhookView = (r: Record<string, any>): WebhookView => ({
  id: r.webhook_id,
  // A row added before URLs with credentials were refused: listed without its password.
  url: redactUrl(r.url),
  events: r.events,
  createdAt: r.created_at.toISOString(),
  createdBy: r.created_by,
})

const toDeliveryView = (r: Record<string, any>): DeliveryView => ({
  id: r.delivery_id,
  webhookId: r.webhook_id,
  eventType: r.event_type,
  status: r.status,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at.toISOString(),
  lastStatus: r.last_status,
  lastError: r.last_error,
  createdAt: r.created_at.toISOString(),
  deliveredAt: r.delivered_at?.toISOString() ?? null,
})

// ---- webhooks ----

export async function insertWebhook(q: Queryable, w: { id: string; url: string; events: string[]; secret: Sealed; at: Date; by: string }): Promise<WebhookView> {
  const [row] = await q`
    insert into webhooks (webhook_id, url, events, secret_key_id, secret_nonce, secret_sealed, created_at, created_by)
    values (${w.id}, ${w.url}, ${w.events}::text[], ${w.secret.keyId}, ${w.secret.nonce}, ${w.secret.ciphertext}, ${w.at}, ${w.by})
    returning *`
  return toWebhookView(row!)
}

/** Webhooks whose secret is still in the clear (rows from before sql/0013), with it. */
export async function selectPlainSecrets(q: Queryable): Promise<Array<{ webhookId: string; secret: string }>> {
  return (await q`select webhook_id, secret from webhooks where secret is not null order by id`).map((r) => ({ webhookId: r.webhook_id as string, secret: r.secret as string }))
}

export async function countPlainSecrets(q: Queryable): Promise<number> {
  return ((await q`select count(*)::int as n from webhooks where secret is not null`)[0] as { n: number }).n
}

/**
 * Replace a webhook's clear secret by its sealed form. Only while the row still holds that very
 * secret: a concurrent sealer (or a changed row) makes it a no-op. True when this call sealed it.
 */
export async function storeSealedSecret(q: Queryable, webhookId: string, plain: string, sealed: Sealed): Promise<boolean> {
  const rows = await q`
    update webhooks set secret = null, secret_key_id = ${sealed.keyId}, secret_nonce = ${sealed.nonce}, secret_sealed = ${sealed.ciphertext}
    where webhook_id = ${webhookId} and secret = ${plain} returning 1`
  return rows.length > 0
}

export async function selectWebhooks(q: Queryable): Promise<WebhookView[]> {
  return (await q`select * from webhooks order by id`).map(toWebhookView)
}

export async function webhookExists(q: Queryable, id: string): Promise<boolean> {
  return (await q`select 1 from webhooks where webhook_id = ${id}`).length > 0
}

export async function deleteWebhook(q: Queryable, id: string): Promise<WebhookView | undefined> {
  const [row] = await q`delete from webhooks where webhook_id = ${id} returning *`
  return row ? toWebhookView(row) : undefined
}

/** Ids of the webhooks subscribed to `eventType`. */
export async function subscribers(q: Queryable, eventType: string): Promise<string[]> {
  return (await q`select webhook_id from webhooks where ${eventType} = any(events)`).map((r) => r.webhook_id as string)
}

// ---- the outbox ----

/** One pending delivery per (id, webhook) pair, all of one event, due at once. */
export async function insertDeliveries(q: Queryable, d: { ids: string[]; webhookIds: string[]; eventType: string; payload: object; at: Date }): Promise<void> {
  await q`
    insert into webhook_deliveries (delivery_id, webhook_id, event_type, payload, next_attempt_at, created_at)
    select d, w, ${d.eventType}, ${q.json(d.payload as never)}, ${d.at}, ${d.at}
    from unnest(${d.ids}::text[], ${d.webhookIds}::text[]) as t(d, w)`
}

/**
 * The oldest due pending delivery (of `ids`, if given), locked for this transaction with
 * SKIP LOCKED, so two drainers never take the same one.
 */
export async function claimDue(q: Queryable, now: Date, ids?: string[]): Promise<DueDelivery | undefined> {
  const [row] = await q`
    select d.id::text as row_id, d.delivery_id, d.webhook_id, d.payload, d.attempts, w.url, w.secret, w.secret_key_id, w.secret_nonce, w.secret_sealed
    from webhook_deliveries d join webhooks w using (webhook_id)
    where d.status = 'pending' and d.next_attempt_at <= ${now}
      ${ids ? q`and d.delivery_id = any(${ids}::text[])` : q``}
    order by d.id limit 1
    for update of d skip locked`
  return row && { rowId: row.row_id, deliveryId: row.delivery_id, webhookId: row.webhook_id, url: row.url, secret: storedSecret(row), payload: row.payload, attempts: row.attempts }
}

export async function markDelivered(q: Queryable, rowId: string, attempts: number, status: number, at: Date): Promise<DeliveryView> {
  const [row] = await q`
    update webhook_deliveries set status = 'delivered', attempts = ${attempts}, last_status = ${status}, last_error = null, delivered_at = ${at}
    where id = ${rowId} returning *`
  return toDeliveryView(row!)
}

/** A failed attempt: retried at `nextAt`, or given up (`failed`) when `giveUp`. */
export async function markAttemptFailed(q: Queryable, rowId: string, f: { attempts: number; status: number | null; error: string | null; giveUp: boolean; nextAt: Date }): Promise<DeliveryView> {
  const [row] = await q`
    update webhook_deliveries set attempts = ${f.attempts}, last_status = ${f.status as never}, last_error = ${f.error},
      status = ${f.giveUp ? 'failed' : 'pending'}, next_attempt_at = ${f.nextAt}
    where id = ${rowId} returning *`
  return toDeliveryView(row!)
}

/** Make a delivery pending and due now, whatever its state (redeliver). False when there is none. */
export async function resetDelivery(q: Queryable, deliveryId: string, now: Date): Promise<boolean> {
  return (await q`update webhook_deliveries set status = 'pending', next_attempt_at = ${now}, attempts = 0 where delivery_id = ${deliveryId} returning 1`).length > 0
}

export async function findDelivery(q: Queryable, deliveryId: string): Promise<DeliveryView | undefined> {
  const [row] = await q`select * from webhook_deliveries where delivery_id = ${deliveryId}`
  return row ? toDeliveryView(row) : undefined
}

/** Deliveries, newest first, optionally of one webhook. */
export async function selectDeliveries(q: Queryable, f: { webhookId?: string; limit: number }): Promise<DeliveryView[]> {
  const rows = await q`
    select * from webhook_deliveries ${f.webhookId ? q`where webhook_id = ${f.webhookId}` : q``}
    order by id desc limit ${f.limit}`
  return rows.map(toDeliveryView)
}
