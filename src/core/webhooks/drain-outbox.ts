import type { CoreContext } from '../context.js'
import type { Disposer } from '../events.js'
import { deliverDue } from './outbox.js'

/**
 * Side effect of a long-running process: deliver whatever is due in the outbox every
 * `everyMs` (one drain at a time; the row locks let several processes drain together).
 */
export function drainOutbox(ctx: CoreContext, everyMs = 1000): Disposer {
  let draining: Promise<unknown> | undefined
  const drain = () =>
    (draining ??= deliverDue(ctx, { limit: 100 })
      .catch((e: Error) => ctx.log.warn(`webhook outbox: ${e.message}`))
      .finally(() => (draining = undefined)))
  const timer = setInterval(() => void drain(), everyMs)
  timer.unref()
  return async () => {
    clearInterval(timer)
    await draining
  }
}
