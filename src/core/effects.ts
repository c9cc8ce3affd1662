import { alertsOnAnomaly } from './anomalies/alert-publisher.js'
import { autoDisableOnAnomaly } from './anomalies/auto-disable.js'
import { detectOnFlush } from './anomalies/detect-on-flush.js'
import { announceRotationsDue } from './api-keys/rotation-notices.js'
import { checkpointPeriodically } from './audit/audit-trail.js'
import type { CoreContext } from './context.js'
import type { Disposer } from './events.js'
import { broadcastChanges } from './validation/broadcast.js'
import { auditLockouts } from './validation/lockout-audit.js'
import { mirrorValidationState } from './validation/mirrors.js'
import { flushUsage } from './usage/flush-usage.js'
import { drainOutbox } from './webhooks/drain-outbox.js'
import { queueWebhooks } from './webhooks/queue-webhooks.js'

/**
 * A side effect: something that reacts to the core's events or keeps running in the
 * background. `reaction`s only subscribe to the bus (attaching costs nothing; they act when
 * an event comes); `service`s own timers or connections and are started by long-running
 * processes. Each returns a disposer; closing the core disposes services first, then flushes
 * usage and lets the reactions finish, then disposes them.
 */
export interface Effect {
  kind: 'reaction' | 'service'
  /** What it is for, in a line (docs/architecture.md lists them). */
  does: string
  attach(ctx: CoreContext): Disposer | Promise<Disposer>
}

export const EFFECTS = {
  broadcast: { kind: 'reaction', does: 'key, blacklist and lockout changes reach this cache and other processes', attach: broadcastChanges },
  'lockout-audit': { kind: 'reaction', does: 'an audit row per lockout', attach: auditLockouts },
  webhooks: { kind: 'reaction', does: 'webhook events into the outbox; own deliveries tried at close', attach: (ctx) => queueWebhooks(ctx) },
  alerts: { kind: 'reaction', does: 'detections on the Redis alert channel and per-key anomaly state', attach: alertsOnAnomaly },
  'auto-disable': { kind: 'reaction', does: 'ANOMALY_AUTO_DISABLE: disable a key on a severe anomaly', attach: autoDisableOnAnomaly },
  detection: { kind: 'reaction', does: 'the anomaly detectors after each usage flush', attach: detectOnFlush },
  mirrors: { kind: 'service', does: 'blacklist and lockout mirrors loaded and kept fresh; decisions from memory', attach: mirrorValidationState },
  'usage-flush': { kind: 'service', does: 'buffered usage written every second', attach: (ctx) => flushUsage(ctx) },
  'outbox-drain': { kind: 'service', does: 'due webhook deliveries sent every second, with retries', attach: (ctx) => drainOutbox(ctx) },
  'rotation-notices': { kind: 'service', does: 'key.rotation_due announced ahead of scheduled rotations', attach: (ctx) => announceRotationsDue(ctx) },
  'audit-checkpoints': { kind: 'service', does: 'a signed audit checkpoint every MOMENTRY_AUDIT_CHECKPOINT_EVERY (audit.checkpoint)', attach: checkpointPeriodically },
} as const satisfies Record<string, Effect>

export type EffectName = keyof typeof EFFECTS

/** What every one-shot command needs: its changes reach other processes, are audited and reach webhooks. */
export const ONE_SHOT_EFFECTS: readonly EffectName[] = ['broadcast', 'lockout-audit', 'webhooks']

/** What `serve` (and a library user's long-running process) runs. */
export const SERVER_EFFECTS: readonly EffectName[] = [
  ...ONE_SHOT_EFFECTS,
  'alerts',
  'auto-disable',
  'detection',
  'mirrors',
  'usage-flush',
  'outbox-drain',
  'rotation-notices',
  'audit-checkpoints',
]
