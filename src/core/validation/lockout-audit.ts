import { appendAudit } from '../audit/repo.js'
import type { CoreContext } from '../context.js'
import type { Disposer } from '../events.js'

/**
 * Side effect: an audit row for every lockout (`ip.lockout`). The lockout itself lives in
 * Redis or `ip_failures`, so there is no transaction to share; the row is written as soon as
 * the lockout is announced (other processes hear of it without waiting for this write).
 */
export function auditLockouts(ctx: CoreContext): Disposer {
  const off = ctx.bus.on('ip.locked_out', async (event) => {
    await ctx.sql.begin((tx) =>
      appendAudit(ctx, tx, {
        keyId: null,
        action: 'ip.lockout',
        actor: ctx.actor,
        ip: event.ip,
        at: new Date(event.at),
        details: { attempts: event.attempts, retryAfterSeconds: event.retryAfterSeconds },
      }),
    )
  })
  return async () => off()
}
