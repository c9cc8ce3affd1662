import type { CoreContext } from '../context.js'
import type { Disposer } from '../events.js'
import { markRotationNotified } from './repo.js'

/**
 * Announce `key.rotation_due` once for every key whose scheduled rotation is within
 * MOMENTRY_ROTATION_NOTICE (`serve` checks every minute; `rotate --due` checks first).
 */
export async function notifyRotationDue(ctx: CoreContext): Promise<{ keyId: string; dueAt: string }[]> {
  const now = ctx.clock.now()
  const due = await markRotationNotified(ctx.sql, now, new Date(now.getTime() + ctx.config.rotationNoticeSeconds * 1000))
  for (const d of due) ctx.bus.emit({ type: 'key.rotation_due', keyId: d.keyId, name: d.name, dueAt: d.dueAt.toISOString(), at: now.toISOString() })
  return due.map((d) => ({ keyId: d.keyId, dueAt: d.dueAt.toISOString() }))
}

/**
 * Side effect of a long-running process: look for rotations coming due now and every
 * `everyMs` (a minute), announcing each once.
 */
export function announceRotationsDue(ctx: CoreContext, everyMs = 60_000): Disposer {
  let running: Promise<unknown> | undefined
  const check = () =>
    (running ??= notifyRotationDue(ctx)
      .catch((e: Error) => ctx.log.warn(`rotation notice: ${e.message}`))
      .finally(() => (running = undefined)))
  const timer = setInterval(() => void check(), everyMs)
  timer.unref()
  void check()
  return async () => {
    clearInterval(timer)
    await running
  }
}
