import type { CoreContext } from '../context.js'
import type { Disposer } from '../events.js'
import { detectAnomalies, newDetectionMemory } from './detect-anomalies.js'

/**
 * Side effect of a long-running process: run the detectors for the keys of every usage
 * batch that reached PostgreSQL (`usage.flushed`). One run at a time: keys that arrive while
 * one runs are merged into the next, so a slow round never piles up behind the 1 s flushes.
 */
export function detectOnFlush(ctx: CoreContext): Disposer {
  const memory = newDetectionMemory()
  const queued = new Set<string>()
  let running: Promise<void> | undefined
  const run = (): Promise<void> =>
    (running ??= (async () => {
      while (queued.size > 0) {
        const keyIds = [...queued]
        queued.clear()
        await detectAnomalies(ctx, keyIds, memory).catch((error: Error) => ctx.log.warn(`anomaly detection failed: ${error.message}`))
      }
    })().finally(() => (running = undefined)))
  const off = ctx.bus.on('usage.flushed', (event) => {
    for (const id of event.keyIds) queued.add(id)
    return run()
  })
  return async () => {
    off()
    await running
  }
}
