import { withActor } from '../actor.js'
import { disableKey } from '../api-keys/change-key-state.js'
import type { CoreContext } from '../context.js'
import { ConflictError } from '../errors.js'
import type { Disposer } from '../events.js'
import { SEVERITY_RANK } from './anomaly-view.js'

/**
 * Side effect for `ANOMALY_AUTO_DISABLE=critical|high`: switch a key off when an anomaly of
 * at least that severity is detected for it — audited as `momentry:anomaly`, with the
 * anomaly in the reason, and reversible with `api-key enable`. Off by default.
 */
export function autoDisableOnAnomaly(ctx: CoreContext): Disposer {
  const mode = ctx.config.anomaly.autoDisable
  const actor = withActor(ctx, 'momentry:anomaly')
  const off = ctx.bus.on('anomaly.detected', async ({ alert }) => {
    if (mode === 'off' || SEVERITY_RANK[alert.severity] < SEVERITY_RANK[mode]) return
    try {
      await disableKey(actor, { id: alert.keyId, reason: `auto-disabled: ${alert.severity} ${alert.type} (${alert.id})` })
      ctx.log.warn(`disabled ${alert.keyId} after a ${alert.severity} ${alert.type} anomaly (ANOMALY_AUTO_DISABLE=${mode}); \`momentry api-key enable ${alert.keyId}\` reverses it`)
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error // already disabled or revoked: nothing to do
    }
  })
  return async () => off()
}
