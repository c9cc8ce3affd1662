import type { request } from 'undici'

import type { Clock } from '../clock.js'
import type { CoreContext } from '../context.js'
import type { MomentryEvent } from '../events.js'
import { newPublicId } from '../random-id.js'
import type { DeliveryView } from './repo.js'
import { claimDue, insertDeliveries, markAttemptFailed, markDelivered, subscribers } from './repo.js'
import { signWebhook } from './signature.js'
import { sendsWebhook } from './webhook-events.js'
import { openWebhookSecret } from './webhook-secret.js'

/** What the outbox needs of a context (the audit keyring opens the signing secrets). */
export type OutboxDeps = Pick<CoreContext, 'sql' | 'clock' | 'log' | 'audit'>

/** After this many failed attempts a delivery is marked failed (redeliver resets it). */
export const MAX_ATTEMPTS = 8
/** 5 s, 10 s, 20 s … capped at an hour. */
export const backoffMs = (attempts: number) => Math.min(5000 * 2 ** (attempts - 1), 3_600_000)

const newDeliveryId = () => newPublicId('msg_', 20)

/** The Standard Webhooks payload shape: {type, timestamp, data}. Never carries a secret. */
function payloadOf(event: MomentryEvent): { type: string; timestamp: string; data: Record<string, unknown> } {
  const { type, at, ...data } = event
  return { type, timestamp: at, data }
}

/**
 * Put one delivery per subscribed webhook in the outbox (for an event that goes to webhooks:
 * `sendsWebhook`). Returns the new delivery ids so the process that raised the event can try
 * them at once.
 */
export async function enqueueEvent(deps: OutboxDeps, event: MomentryEvent): Promise<string[]> {
  if (!sendsWebhook(event)) return []
  const hooks = await subscribers(deps.sql, event.type)
  if (hooks.length === 0) return []
  const ids = hooks.map(() => newDeliveryId())
  await insertDeliveries(deps.sql, { ids, webhookIds: hooks, eventType: event.type, payload: payloadOf(event), at: deps.clock.now() })
  return ids
}

/** Put a one-off `webhook.test` delivery in the outbox for one webhook. */
export async function enqueueTest(deps: OutboxDeps, webhookId: string): Promise<string> {
  const now = deps.clock.now()
  const id = newDeliveryId()
  const payload = { type: 'webhook.test', timestamp: now.toISOString(), data: { webhookId } }
  await insertDeliveries(deps.sql, { ids: [id], webhookIds: [webhookId], eventType: 'webhook.test', payload, at: now })
  return id
}

/**
 * Attempt due deliveries (or just `ids`), one at a time, each under its row lock with
 * SKIP LOCKED: two drainers never send the same delivery, and a delivery answered 2xx is
 * marked delivered in the same transaction, so it is never sent again. Failures are
 * retried with exponential backoff up to MAX_ATTEMPTS. Rejects with an AuditKeyError (exit 8)
 * when a signing secret cannot be opened, leaving that delivery as it was.
 */
export async function deliverDue(deps: OutboxDeps, options: { ids?: string[]; limit?: number; timeoutMs?: number } = {}): Promise<DeliveryView[]> {
  const done: DeliveryView[] = []
  const limit = options.limit ?? 100
  while (done.length < limit) {
    const result = await deps.sql.begin(async (tx) => {
      const due = await claimDue(tx, deps.clock.now(), options.ids)
      if (!due) return undefined
      // A secret that cannot be opened (audit key missing or wrong) throws here: the delivery
      // stays pending, untouched, and the error says which key to restore.
      const secret = await openWebhookSecret(deps, due.webhookId, due.secret)
      const outcome = await send(due.url, secret, due.deliveryId, due.payload, options.timeoutMs ?? 5000, deps.clock)
      const attempts = due.attempts + 1
      return outcome.ok
        ? markDelivered(tx, due.rowId, attempts, outcome.status!, deps.clock.now())
        : markAttemptFailed(tx, due.rowId, {
            attempts,
            status: outcome.status ?? null,
            error: outcome.error,
            giveUp: attempts >= MAX_ATTEMPTS,
            nextAt: new Date(deps.clock.now().getTime() + backoffMs(attempts)),
          })
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
