import type { CoreContext } from '../context.js'
import { MomentryError } from '../errors.js'
import type { Disposer } from '../events.js'
import { deliverDue, enqueueEvent } from './outbox.js'

/**
 * Side effect: every webhook event raised here goes into the outbox (one delivery per
 * subscribed webhook), so it survives this process. When detached, the deliveries this
 * process queued are tried once with a short timeout — a one-shot CLI run delivers its own
 * events before it exits; `serve`'s outbox drain retries whatever is left.
 */
export function queueWebhooks(ctx: CoreContext, options: { finalTimeoutMs?: number } = {}): Disposer {
  const own: string[] = []
  const off = ctx.bus.on('*', async (event) => {
    try {
      own.push(...(await enqueueEvent(ctx, event)))
    } catch (error) {
      ctx.log.warn(`could not queue webhooks for ${event.type}: ${(error as Error).message}`)
    }
  })
  return async () => {
    off()
    if (own.length === 0) return
    const ids = own.splice(0)
    await deliverDue(ctx, { ids, timeoutMs: options.finalTimeoutMs ?? 2000 }).catch((e: Error) => ctx.log.warn(`webhook delivery: ${e instanceof MomentryError ? e.line : e.message}`))
  }
}
