import type { CoreContext } from '../context.js'
import { normaliseUrl } from '../credentials/credential-store.js'
import { MomentryError } from '../errors.js'
import type { GiteaSession } from '../gitea/gitea-client.js'
import { deleteGiteaToken, rotateGiteaToken } from '../gitea/gitea-tokens.js'
import { reportedFailure } from '../integrations/tracked-credential.js'
import type { N8nSession } from '../n8n/n8n-client.js'
import { deleteN8nKey, rotateN8nKey } from '../n8n/n8n-keys.js'
import type { ServiceCredential } from './find-service-tokens.js'
import { describeLocation } from './location.js'
import type { LeakOutcome, LeakResponse } from './outcomes.js'
import type { ServiceTokenFinding } from './scan.js'

/** How to act as momentry's Gitea and n8n logins (opened once, only when something is to be done). */
export interface ServiceSessions {
  gitea: () => Promise<GiteaSession | undefined>
  n8n: () => Promise<N8nSession | undefined>
}

export const NO_SESSIONS: ServiceSessions = { gitea: async () => undefined, n8n: async () => undefined }

/** A Gitea token or n8n key replaced by `scan --rotate`, with the new secret (shown once). */
export interface RotatedServiceCredential {
  credential: ServiceCredential
  url: string
  previousId: string
  /** False when the leaked one could not be deleted: it still works (see the finding's `actionError`). */
  previousDeleted: boolean
  id: string
  name: string
  secret: string
}

export interface ServiceAction {
  outcome: LeakOutcome
  error?: string
  rotated?: RotatedServiceCredential
}

/** One tracked record: the same token found in several places is acted on once. */
export const serviceTargetKey = (f: Pick<ServiceTokenFinding, 'credential' | 'url' | 'keyId'>) => `${f.credential}\u0000${normaliseUrl(f.url)}\u0000${f.keyId}`

type Opened = { gitea?: GiteaSession; n8n?: N8nSession; error?: string }

async function open(sessions: ServiceSessions, credential: ServiceCredential): Promise<Opened> {
  try {
    const s = credential === 'gitea' ? { gitea: await sessions.gitea() } : { n8n: await sessions.n8n() }
    return s.gitea || s.n8n ? s : { error: `no ${credential === 'gitea' ? 'Gitea' : 'n8n'} credentials: run \`momentry auth login ${credential}\`` }
  } catch (error) {
    if (!(error instanceof MomentryError)) throw error
    return { error: error.line }
  }
}

/**
 * Delete (`revoke`) or rotate each confirmed, unambiguous Gitea token and n8n key, once per
 * tracked record, through the same core as `gitea|n8n delete|rotate` (audited there, with the
 * place as `reason`), and emit `key.leaked` for each one acted on. A record on a server the
 * stored login is not for, a login that fails, or a delete that fails is reported on the
 * finding, never thrown: the other leaks are still acted on.
 */
export async function respondToServiceLeaks(
  ctx: CoreContext,
  findings: readonly ServiceTokenFinding[],
  response: LeakResponse,
  sessions: ServiceSessions,
): Promise<Map<string, ServiceAction>> {
  const actions = new Map<string, ServiceAction>()
  const opened = new Map<ServiceCredential, Promise<Opened>>()
  for (const f of findings) {
    const key = serviceTargetKey(f)
    if (!f.live || f.ambiguous || actions.has(key)) continue
    if (!opened.has(f.credential)) opened.set(f.credential, open(sessions, f.credential))
    const o = await opened.get(f.credential)!
    const session = o.gitea ?? o.n8n
    if (!session) {
      actions.set(key, { outcome: 'no_session', error: o.error })
      continue
    }
    if (normaliseUrl(session.target.url) !== normaliseUrl(f.url)) {
      actions.set(key, { outcome: 'no_session', error: `momentry's ${session.target.label} login is for ${session.target.url}; this one lives on ${f.url}` })
      continue
    }
    const where = describeLocation(f.location)
    const reason = `leaked: found in ${where}`
    try {
      const action = o.gitea ? await actGitea(ctx, o.gitea, f, response, reason) : await actN8n(ctx, o.n8n!, f, response, reason)
      actions.set(key, action)
      if (action.outcome === 'deleted' || action.rotated) {
        ctx.bus.emit({
          type: 'key.leaked',
          credential: f.credential,
          keyId: f.keyId,
          name: f.name,
          where,
          response: action.rotated ? 'rotated' : 'deleted',
          newKeyId: action.rotated?.id ?? null,
          service: f.url,
          owner: f.user,
          at: ctx.clock.now().toISOString(),
        })
      }
    } catch (error) {
      if (!(error instanceof MomentryError)) throw error
      actions.set(key, { outcome: 'failed', error: reportedFailure(error).message })
    }
  }
  return actions
}

function rotatedAction(r: RotatedServiceCredential, error: { message: string } | undefined): ServiceAction {
  return r.previousDeleted ? { outcome: 'rotated', rotated: r } : { outcome: 'failed', rotated: r, error: `replaced by ${r.id}, but the leaked one could not be deleted: ${error?.message ?? 'unknown error'}` }
}

async function actGitea(ctx: CoreContext, s: GiteaSession, f: ServiceTokenFinding, response: LeakResponse, reason: string): Promise<ServiceAction> {
  if (response === 'revoke') {
    const deleted = await deleteGiteaToken(ctx, s, { id: f.keyId, reason })
    return { outcome: deleted.alreadyGone ? 'already_deleted' : 'deleted' }
  }
  const r = await rotateGiteaToken(ctx, s, { id: f.keyId, reason })
  return rotatedAction(
    { credential: 'gitea', url: f.url, previousId: f.keyId, previousDeleted: r.previous.deleted, id: String(r.token.id), name: r.token.name, secret: r.secret },
    r.previous.error,
  )
}

async function actN8n(ctx: CoreContext, s: N8nSession, f: ServiceTokenFinding, response: LeakResponse, reason: string): Promise<ServiceAction> {
  if (response === 'revoke') {
    const deleted = await deleteN8nKey(ctx, s, { id: f.keyId, reason })
    return { outcome: deleted.alreadyGone ? 'already_deleted' : 'deleted' }
  }
  const r = await rotateN8nKey(ctx, s, { id: f.keyId, reason })
  return rotatedAction({ credential: 'n8n', url: f.url, previousId: f.keyId, previousDeleted: r.previous.deleted, id: r.key.id, name: r.key.label, secret: r.secret }, r.previous.error)
}
