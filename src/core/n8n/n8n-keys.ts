import * as z from 'zod'

import type { CoreContext } from '../context.js'
import { printable } from '../printable.js'
import { ConflictError, ExternalServiceError, NotFoundError, RemoteConflictError, RemoteNotFoundError, UsageError } from '../errors.js'
import { withRotationLock } from '../integrations/rotation-lock.js'
import { countDrift, joinWithServer, reportedFailure, rotatedName } from '../integrations/tracked-credential.js'
import { parseInput } from '../validate-input.js'
import { trackN8nKey, untrackN8nKey } from './key-tracking.js'
import type { N8nKeyView } from './key-view.js'
import { fromRecord, fromRemote } from './key-view.js'
import type { N8nSession } from './n8n-client.js'
import { createN8nKeyRemote, deleteN8nKeyRemote, listN8nKeysRemote, listN8nScopes } from './n8n-client.js'
import { notTheirs, ownerEmail, ownerOf, partialList } from './ownership.js'
import { findTrackedN8nKey, listTrackedN8nKeys, setN8nKeyOwner } from './repo.js'

/** n8n's limit on a key label. */
const LABEL_MAX = 50

const labelSchema = z.string().min(1, 'must not be empty').max(LABEL_MAX, 'must be at most 50 characters (an n8n limit)')
const scopeSchema = z.string().regex(/^[A-Za-z][A-Za-z0-9-]*:[A-Za-z][A-Za-z0-9-]*$/, 'an n8n scope looks like resource:action, e.g. workflow:read')
const createInput = z.object({
  label: labelSchema,
  scopes: z.array(scopeSchema).min(1, 'give at least one scope, e.g. workflow:read'),
  expiresInSeconds: z.number().int().positive().optional(),
})

/** An n8n API key id as given on the command line, checked before it goes into a URL path. */
export function assertN8nKeyId(input: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(input)) throw new UsageError(`"${printable(input)}" is not an n8n API key id`, '`momentry n8n list` shows the ids')
  return input
}

export interface IssuedN8nKey {
  /** n8n's rawApiKey: shown once, never stored. */
  secret: string
  key: N8nKeyView
}

async function assertLabelFree(s: N8nSession, label: string): Promise<void> {
  if ((await listN8nKeysRemote(s)).keys.some((k) => k.label === label)) {
    throw new ConflictError(`n8n already has an API key labelled ${label} for ${s.email}`, 'Labels are unique per user in n8n: pick another --label, or delete the old key (`momentry n8n list` shows ids)')
  }
}

/** Make a key in n8n (its label checked free first), then track and announce it. */
async function mint(ctx: CoreContext, s: N8nSession, input: { label: string; scopes: string[]; expiresAt: Date | null }, rotatedFrom: string | null): Promise<IssuedN8nKey> {
  await assertLabelFree(s, input.label)
  const body = { label: input.label, scopes: input.scopes, expiresAt: input.expiresAt ? Math.floor(input.expiresAt.getTime() / 1000) : null }
  const created = await createN8nKeyRemote(s, body).catch(async (error: unknown) => {
    // The label is free, so a conflict means a key made in this same second: n8n's JWT has a
    // one-second iat, so the next second gives a different key.
    if (!(error instanceof RemoteConflictError)) throw error
    await new Promise((r) => setTimeout(r, 1100))
    return createN8nKeyRemote(s, body)
  })
  const record = await trackN8nKey(ctx, s, created, input, rotatedFrom)
  return { secret: created.rawApiKey, key: fromRecord(record, true) }
}

/**
 * Mint an n8n API key and track it (without its secret). Scopes are checked against the
 * ones n8n allows this user's role before the key is made. Emits `n8n.key.created` once it
 * is recorded.
 */
export async function createN8nKey(ctx: CoreContext, s: N8nSession, input: { label: string; scopes: string[]; expiresInSeconds?: number }): Promise<IssuedN8nKey> {
  const i = parseInput(createInput, input)
  const scopes = [...new Set(i.scopes)]
  const allowed = await listN8nScopes(s)
  const bad = scopes.find((sc) => !allowed.includes(sc))
  if (bad !== undefined) throw new UsageError(`--scopes: n8n does not allow "${printable(bad)}" for ${s.email}'s role`, `Allowed: ${allowed.join(', ') || 'none'}`)
  const expiresAt = i.expiresInSeconds ? new Date(ctx.clock.now().getTime() + i.expiresInSeconds * 1000) : null
  return mint(ctx, s, { label: i.label, scopes, expiresAt }, null)
}

export interface N8nKeyList {
  url: string
  /** The logged-in n8n user: n8n shows each user only their own keys. */
  user: string
  items: N8nKeyView[]
  drift: { gone: number; untracked: number }
  /** Tracked keys of other n8n users: listed, but their drift cannot be seen from this login. */
  otherUsers: number
  /** false when n8n paged its answer and sent only part of the list: nothing is called gone then. */
  complete: boolean
}

/**
 * Tracked keys joined with n8n's list, flagging drift both ways. n8n lists only the
 * logged-in user's keys, so another user's tracked key is shown without a verdict, as is
 * every missing key when n8n sent only part of its list. Keys n8n lists for this login are
 * recorded as this user's (rows from before owners were kept, a changed e-mail).
 */
export async function listN8nKeys(ctx: CoreContext, s: N8nSession): Promise<N8nKeyList> {
  const { keys: remote, complete } = await listN8nKeysRemote(s)
  const local = await listTrackedN8nKeys(ctx.sql, s.target.url)
  const me = ownerEmail(s)
  const listed = new Set(remote.map((k) => k.id))
  const misrecorded = local.filter((r) => listed.has(r.keyId) && (r.ownerEmail !== me || (s.userId !== undefined && r.ownerId !== s.userId)))
  await setN8nKeyOwner(ctx.sql, s.target.url, misrecorded.map((r) => r.keyId), { email: me, id: s.userId ?? null })
  const joined = joinWithServer(local, remote, { local: (r) => r.keyId, remote: (k) => k.id }, (r) => complete && ownerOf(r, s) !== 'other')
  const items = joined.map((j): N8nKeyView => {
    if (j.local === undefined) return fromRemote(j.remote, me)
    return j.remote ? { ...fromRecord(j.local, true), label: j.remote.label, owner: me } : fromRecord(j.local, j.onServer, j.drift)
  })
  const otherUsers = joined.filter((j) => j.local !== undefined && j.remote === undefined && ownerOf(j.local, s) === 'other').length
  return { url: s.target.url, user: me, items, drift: countDrift(items), otherUsers, complete }
}

export interface DeletedN8nKey {
  id: string
  label: string
  tracked: boolean
  /** Re-listed after the delete and no longer there (n8n answers 200 even for unknown ids). */
  confirmed: true
  /** Tracked as the logged-in user's, but already deleted in n8n: momentry stopped tracking it. */
  alreadyGone?: boolean
}

/**
 * Delete a key. n8n says 200 whatever the id, so the key is looked up first and the list is
 * read again afterwards to confirm it is gone. A key n8n does not list is not found
 * (RemoteNotFoundError), unless momentry tracks it as this user's: then it was deleted in
 * n8n, and momentry stops tracking it. Emits `n8n.key.deleted`.
 */
export async function deleteN8nKey(ctx: CoreContext, s: N8nSession, input: { id: string; reason?: string }): Promise<DeletedN8nKey> {
  return deleteKey(ctx, s, assertN8nKeyId(input.id), null, input.reason)
}

/** The delete itself; a rotation passes the replacement's id, kept in the audit row and the event. */
async function deleteKey(ctx: CoreContext, s: N8nSession, id: string, replacedBy: string | null, reason?: string): Promise<DeletedN8nKey> {
  const listed = await listN8nKeysRemote(s)
  const before = listed.keys.find((k) => k.id === id)
  if (!before) {
    const tracked = await findTrackedN8nKey(ctx.sql, s.target.url, id)
    const owner = tracked ? ownerOf(tracked, s) : undefined
    if (tracked && owner === 'other') throw notTheirs(s, id, tracked)
    if (tracked && !listed.complete) throw partialList(s, id)
    if (tracked && owner === 'mine' && (await untrackN8nKey(ctx, s, { id, label: tracked.label, owner: tracked.ownerEmail }, { alreadyGone: true, replacedBy, onlyIfTracked: true, reason }))) {
      return { id, label: tracked.label, tracked: true, confirmed: true, alreadyGone: true }
    }
    throw new RemoteNotFoundError(
      `n8n has no API key ${id} for ${s.email}${tracked ? ` (momentry tracks it as "${tracked.label}": it was deleted in n8n, or is another user's)` : ''}`,
      '`momentry n8n list` shows the keys and any drift',
    )
  }
  await deleteN8nKeyRemote(s, id)
  if ((await listN8nKeysRemote(s)).keys.some((k) => k.id === id)) {
    throw new ExternalServiceError(`n8n answered the delete of ${id} with success but still lists the key`, { code: 'SERVICE_ERROR', status: 200, hint: 'Delete it in the n8n UI (Settings → n8n API) and check the n8n log' })
  }
  const tracked = await untrackN8nKey(ctx, s, { id, label: before.label, owner: ownerEmail(s) }, { alreadyGone: false, replacedBy, reason })
  return { id, label: before.label, tracked, confirmed: true }
}

export interface RotatedN8nKey extends IssuedN8nKey {
  previous: { id: string; deleted: boolean; error?: { message: string; status?: number } }
}

/**
 * Replace a tracked key: create the new one first (a derived label, since n8n labels are
 * unique per user; same scopes; a key that had a lifetime gets the same lifetime from now),
 * then delete the old one and confirm it is gone. Emits `n8n.key.created` for the new key,
 * `n8n.key.deleted` for the old one once it is gone, then `n8n.key.rotated` naming both.
 */
export async function rotateN8nKey(ctx: CoreContext, s: N8nSession, input: { id: string; reason?: string }): Promise<RotatedN8nKey> {
  const id = assertN8nKeyId(input.id)
  return withRotationLock(ctx, `n8n API key ${id}`, `n8n:${s.target.url}:${id}`, () => rotateLocked(ctx, s, id, input.reason))
}

async function rotateLocked(ctx: CoreContext, s: N8nSession, id: string, reason: string | undefined): Promise<RotatedN8nKey> {
  const old = await findTrackedN8nKey(ctx.sql, s.target.url, id)
  if (!old) throw new NotFoundError(`momentry does not track an n8n API key ${id} at ${s.target.url}`, 'Only keys created with `momentry n8n create` can be rotated; `momentry n8n list` shows which are tracked')
  // n8n lists only the logged-in user's keys and answers 200 to any delete: make sure the old
  // key is this user's and still there *before* minting a replacement, or a rotation by the
  // wrong user would report a live key as deleted. n8n's list decides; the recorded owner
  // only words the refusal.
  const listed = await listN8nKeysRemote(s)
  if (!listed.keys.some((k) => k.id === id)) {
    if (ownerOf(old, s) === 'other') throw notTheirs(s, id, old)
    if (!listed.complete) throw partialList(s, id)
    throw new RemoteNotFoundError(`n8n API key ${id} is not among the keys of ${s.email} at ${s.target.url}`, 'It was deleted in n8n, or belongs to another n8n user: log in as its owner with `momentry auth login n8n`; nothing was created')
  }
  const now = ctx.clock.now()
  const lifetime = old.expiresAt ? old.expiresAt.getTime() - old.createdAt.getTime() : null
  const expiresAt = lifetime && lifetime > 0 ? new Date(now.getTime() + lifetime) : null
  const issued = await mint(ctx, s, { label: rotatedName(old.label, now, LABEL_MAX), scopes: old.scopes, expiresAt }, id)
  const previous: RotatedN8nKey['previous'] = { id, deleted: false }
  try {
    await deleteKey(ctx, s, id, issued.key.id, reason)
    previous.deleted = true
  } catch (error) {
    if (!(error instanceof RemoteNotFoundError)) previous.error = reportedFailure(error)
    else {
      // Already gone from n8n (it was listed as this user's a moment ago): the goal is reached;
      // stop tracking it. The new key is made and recorded, so a failure here is only reported.
      try {
        await untrackN8nKey(ctx, s, { id, label: old.label, owner: old.ownerEmail }, { alreadyGone: true, replacedBy: issued.key.id, onlyIfTracked: true, reason })
        previous.deleted = true
      } catch (markError) {
        previous.error = { message: `it is gone from n8n, but momentry could not stop tracking it: ${(markError as Error).message}` }
      }
    }
  }
  ctx.bus.emit({
    type: 'n8n.key.rotated',
    n8nUrl: s.target.url,
    owner: issued.key.owner,
    n8nKeyId: id,
    label: old.label,
    newN8nKeyId: issued.key.id,
    newLabel: issued.key.label,
    scopes: issued.key.scopes,
    previousDeleted: previous.deleted,
    at: ctx.clock.now().toISOString(),
  })
  return { ...issued, previous }
}
