import type { CoreContext } from '../context.js'
import type { Disposer } from '../events.js'

/**
 * Side effect of a long-running process: write buffered usage every `everyMs`. The final
 * write at shutdown is the core's own (a one-shot run writes once, at close).
 */
export function flushUsage(ctx: CoreContext, everyMs = 1000): Disposer {
  ctx.validation.usage.start(everyMs)
  return async () => ctx.validation.usage.stop()
}
