import type { Readable } from 'node:stream'

import { revokeKey } from '../api-keys/change-key-state.js'
import type { RotatedKey } from '../api-keys/rotate-key.js'
import { rotateKey } from '../api-keys/rotate-key.js'
import type { CoreContext } from '../context.js'
import { ConflictError } from '../errors.js'
import { describeLocation } from './location.js'
import type { LeakOutcome, LeakResponse } from './outcomes.js'
import type { LeakFinding, ScanInput, ScanResult, ServiceTokenFinding } from './scan.js'
import { scanForKeys } from './scan.js'
import type { RotatedServiceCredential, ServiceAction, ServiceSessions } from './respond-services.js'
import { NO_SESSIONS, respondToServiceLeaks, serviceTargetKey } from './respond-services.js'

export type { LeakOutcome, LeakResponse } from './outcomes.js'

export interface LeakTarget {
  keyId: string
  name: string
  /** Its status when found: only an active key is rotated (a rotating one has its successor already). */
  status: string
  where: string
}

export interface LeakAction {
  keyId: string
  outcome: LeakOutcome
  /** `rotate`: the replacement, with its secret (shown once, as `api-key rotate` does). */
  rotated?: RotatedKey
}

export { describeLocation } from './location.js'

/**
 * Act on leaked keys, each once: revoke it (the reason names where it was found), or rotate
 * it at once (`force`: the leaked key stops validating now). Only an active key is rotated: a
 * rotating key already has its successor, and a disabled or expired one is not in use, so those
 * are revoked (a disabled key could otherwise be enabled again). Both are audited by the key change itself, and each emits
 * `key.leaked`. A key revoked meanwhile by someone else is reported as `already_revoked`.
 */
export async function respondToLeaks(ctx: CoreContext, targets: readonly LeakTarget[], response: LeakResponse): Promise<LeakAction[]> {
  const actions: LeakAction[] = []
  for (const t of targets) {
    const reason = `leaked: found in ${t.where}`
    try {
      if (response === 'rotate' && t.status === 'active') {
        const rotated = await rotateKey(ctx, { id: t.keyId, force: true, reason })
        actions.push({ keyId: t.keyId, outcome: 'rotated', rotated })
        emitLeaked(ctx, t, 'rotated', rotated.key.id)
      } else {
        await revokeKey(ctx, { id: t.keyId, reason })
        actions.push({ keyId: t.keyId, outcome: 'revoked' })
        emitLeaked(ctx, t, 'revoked', null)
      }
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error
      actions.push({ keyId: t.keyId, outcome: 'already_revoked' })
    }
  }
  return actions
}

function emitLeaked(ctx: CoreContext, t: LeakTarget, response: 'revoked' | 'rotated', newKeyId: string | null): void {
  ctx.bus.emit({ type: 'key.leaked', credential: 'momentry', keyId: t.keyId, name: t.name, where: t.where, response, newKeyId, service: null, owner: null, at: ctx.clock.now().toISOString() })
}

/** A finding and what this run did about its credential (`none` when no response was asked). */
export type ActedFinding = LeakFinding & {
  action: LeakOutcome | 'none'
  /** `failed` or `no_session`: why, in one line (never a secret). */
  actionError?: string
}

export interface LeakReport {
  items: ActedFinding[]
  /** Findings that were live credentials when found (the exit status counts these). */
  live: number
  /** Gitea/n8n findings whose service could not be asked (the exit status counts these too). */
  unconfirmed: number
  scanned: ScanResult['scanned']
  candidates: ScanResult['candidates']
  /** `rotate`: each replacement momentry key, with its new secret (shown once). */
  rotated: RotatedKey[]
  /** `rotate`: each replacement Gitea token or n8n key, with its new secret (shown once). */
  rotatedServices: RotatedServiceCredential[]
}

/** Scan, then (when asked) revoke or rotate every credential found that still can be, once per credential. */
export async function scanAndRespond(
  ctx: CoreContext,
  input: ScanInput,
  options: { response?: LeakResponse; stdin?: Readable; sessions?: ServiceSessions } = {},
): Promise<LeakReport> {
  const { result } = await scanForKeys(ctx, input, options.stdin)
  const outcomes = new Map<string, LeakAction>()
  let services = new Map<string, ServiceAction>()
  if (options.response) {
    const targets = new Map<string, LeakTarget>()
    for (const f of result.items) {
      // Every key found that is not revoked yet, live or not: a leak is on its record either way,
      // and a disabled key must not come back with `api-key enable` (as POST /v1/leaks does).
      if (f.credential === 'momentry' && f.keyId && f.status !== 'revoked' && !targets.has(f.keyId)) targets.set(f.keyId, { keyId: f.keyId, name: f.name ?? '', status: f.status, where: describeLocation(f.location) })
    }
    for (const a of await respondToLeaks(ctx, [...targets.values()], options.response)) outcomes.set(a.keyId, a)
    services = await respondToServiceLeaks(ctx, result.items.filter((f): f is ServiceTokenFinding => f.credential !== 'momentry'), options.response, options.sessions ?? NO_SESSIONS)
  }
  const items = result.items.map((f): ActedFinding => {
    if (f.credential !== 'momentry') {
      if (!options.response) return { ...f, action: 'none' }
      if (f.status === 'unconfirmed') return { ...f, action: 'unconfirmed' }
      if (f.ambiguous) return { ...f, action: 'ambiguous' }
      const acted = services.get(serviceTargetKey(f))
      if (!acted) return { ...f, action: 'none' }
      return { ...f, action: acted.outcome, ...(acted.error ? { actionError: acted.error } : {}) }
    }
    const acted = f.keyId ? outcomes.get(f.keyId) : undefined
    const action: ActedFinding['action'] = acted ? acted.outcome : !options.response ? 'none' : f.status === 'unknown' ? 'unknown' : f.status === 'revoked' ? 'already_revoked' : 'not_live'
    return { ...f, action }
  })
  const rotated = [...outcomes.values()].flatMap((a) => (a.rotated ? [a.rotated] : []))
  const rotatedServices = [...services.values()].flatMap((a) => (a.rotated ? [a.rotated] : []))
  return { items, live: result.live, unconfirmed: result.unconfirmed, scanned: result.scanned, candidates: result.candidates, rotated, rotatedServices }
}
