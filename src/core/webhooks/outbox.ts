import type { request } from 'undici'

import { randomBase62 } from '../api-keys/key-format.js'
import type { Clock } from '../clock.js'
import type { Sql } from '../db/connect.js'
import type { MomentryEvent } from '../events.js'
import type { Logger } from '../log.js'
import { signWebhook } from './signature.js'
import { WEBHOOK_EVENTS } from './webhooks.js'

export interface OutboxDeps {
  sql: () => Sql
  clock: Clock
  log: Logger
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

export const toDeliveryView = (r: Record<string, any>): DeliveryView => ({
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

/** After this many failed attempts a delivery is marked failed (redeliver resets it). */
export const MAX_ATTEMPTS = 8
/** 5 s, 10 s, 20 s … capped at an hour. */
export const backoffMs = (attempts: number) => Math.min(5000 * 2 ** (attempts - 1), 3_600_000)

const newDeliveryId = () => `msg_${randomBase62(20)}`

/** The Standard Webhooks payload shape: {type, timestamp, data}. Never carries a secret. */
function payloadOf(event: MomentryEvent): { type: string; timestamp: string; data: Record<string, unknown> } {
  const { type, at, ...data } = event
  return { type, timestamp: at, data }
}

/**
 * Put one delivery per subscribed webhook in the outbox. Returns the new delivery ids so
 * the process that raised the event can try them at once.
 */
export async function enqueueEvent(deps: OutboxDeps, event: MomentryEvent): Promise<string[]> {
  if (!(WEBHOOK_EVENTS as readonly string[]).includes(event.type)) return []
  const sql = deps.sql()
  const hooks = await sql`select webhook_id from webhooks where ${event.type} = any(events)`
  if (hooks.length === 0) return []
  const now = deps.clock.now()
  const ids = hooks.map(() => newDeliveryId())
  await sql`
    insert into webhook_deliveries (delivery_id, webhook_id, event_type, payload, next_attempt_at, created_at)
    select d, w, ${event.type}, ${sql.json(payloadOf(event) as never)}, ${now}, ${now}
    from unnest(${ids}::text[], ${hooks.map((h) => h.webhook_id as string)}::text[]) as t(d, w)`
  return ids
}

/** Put a one-off `webhook.test` delivery in the outbox for one webhook. */
export async function enqueueTest(deps: OutboxDeps, webhookId: string): Promise<string> {
  const now = deps.clock.now()
  const id = newDeliveryId()
  const payload = { type: 'webhook.test', timestamp: now.toISOString(), data: { webhookId } }
  await deps.sql()`
    insert into webhook_deliveries (delivery_id, webhook_id, event_type, payload, next_attempt_at, created_at)
    values (${id}, ${webhookId}, 'webhook.test', ${deps.sql().json(payload)}, ${now}, ${now})`
  return id
}

/**
 * Attempt due deliveries (or just `ids`), one at a time, each under its row lock with
 * SKIP LOCKED: two drainers never send the same delivery, and a delivery answered 2xx is
 * marked delivered in the same transaction, so it is never sent again. Failures are
 * retried with exponential backoff up to MAX_ATTEMPTS.
 */
export async function deliverDue(deps: OutboxDeps, options: { ids?: string[]; limit?: number; timeoutMs?: number } = {}): Promise<DeliveryView[]> {
  const done: DeliveryView[] = []
  const limit = options.limit ?? 100
  while (done.length < limit) {
    const result = await deps.sql().begin(async (tx) => {
      const now = deps.clock.now()
      const [row] = await tx`
        select d.*, w.url, w.secret from webhook_deliveries d join webhooks w using (webhook_id)
        where d.status = 'pending' and d.next_attempt_at <= ${now}
          ${options.ids ? tx`and d.delivery_id = any(${options.ids}::text[])` : tx``}
        order by d.id limit 1
        for update of d skip locked`
      if (!row) return undefined
      const outcome = await send(row.url, row.secret, row.delivery_id, row.payload, options.timeoutMs ?? 5000, deps.clock)
      const attempts = row.attempts + 1
      const [updated] = outcome.ok
        ? await tx`update webhook_deliveries set status = 'delivered', attempts = ${attempts}, last_status = ${outcome.status!},
                     last_error = null, delivered_at = ${deps.clock.now()} where id = ${row.id} returning *`
        : await tx`update webhook_deliveries set attempts = ${attempts}, last_status = ${(outcome.status ?? null) as never}, last_error = ${outcome.error},
                     status = ${attempts >= MAX_ATTEMPTS ? 'failed' : 'pending'},
                     next_attempt_at = ${new Date(deps.clock.now().getTime() + backoffMs(attempts))}
                   where id = ${row.id} returning *`
      return toDeliveryView(updated!)
    })
    if (!result) break
    done.push(result)
  }
  return done
}

async function send(url: string, secret: string, id: string, payload: unknown, timeoutMs: number, clock: Clock): Promise<{ ok: boolean; status?: number; error: string | null }> {
  const body = JSON.stringify(payload)
  const timestamp = Math.floor(clock.now().getTime() / 1000)
  try {
    // undici (~110 files) is loaded on the first delivery, not by every CLI run that imports this.
    const { request } = await import('undici')
    const res = await request(url, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'momentry-webhooks',
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signWebhook(secret, id, timestamp, body),
      },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      maxRedirections: 0,
    } as Parameters<typeof request>[1])
    await res.body.dump()
    const ok = res.statusCode >= 200 && res.statusCode < 300
    return { ok, status: res.statusCode, error: ok ? null : `HTTP ${res.statusCode}` }
  } catch (error) {
    return { ok: false, error: (error as { code?: string }).code ?? (error as Error).message }
  }
}
