import type { CoreContext } from '../context.js'
import { MomentryError } from '../errors.js'
import type { Disposer } from '../events.js'
import { deliverDue } from './outbox.js'

/**
 * Side effect of a long-running process: deliver whatever is due in the outbox every
 * `everyMs` (one drain at a time; the row locks let several processes drain together).
 */
export function drainOutbox(ctx: CoreContext, everyMs = 1000): Disposer {
  let draining: Promise<unknown> | undefined
  // A lasting failure (an audit key missing, the database down) is said once, not every second.
  let lastWarning: string | undefined
  const drain = () =>
    (draining ??= deliverDue(ctx, { limit: 100 })
      .then(
        () => (lastWarning = undefined),
        (e: Error) => {
          const line = `webhook outbox: ${e instanceof MomentryError ? e.line : e.message}`
          if (line !== lastWarning) ctx.log.warn(line)
          lastWarning = line
        },
      )
      .finally(() => (draining = undefined)))
  const timer = setInterval(() => void drain(), everyMs)
  timer.unref()
  return async () => {
    clearInterval(timer)
    await draining
  }
}
