import * as z from 'zod'

import { appendAudit } from '../audit/repo.js'
import type { CoreContext } from '../context.js'
import { printable } from '../printable.js'
import { ConflictError, ExitCode, ExternalServiceError, NotFoundError, UsageError } from '../errors.js'
import { withRotationLock } from '../integrations/rotation-lock.js'
import { parseInput } from '../validate-input.js'
import type { N8nKey, N8nSession } from './n8n-client.js'
import { createN8nKeyRemote, deleteN8nKeyRemote, listN8nKeysRemote, listN8nScopes } from './n8n-client.js'

/** An n8n API key as momentry shows it: never the secret, at most its last four characters. */
export interface N8nKeyView {
  id: string
  label: string
  scopes: string[]
  last4: string
  expiresAt: string | null
  createdAt: string | null
  createdBy: string | null
  /** The n8n user (e-mail) it was made for; null when unknown (made before momentry recorded it). */
  owner: string | null
  tracked: boolean
  /** null: another n8n user's key, which the logged-in user cannot see. */
  onServer: boolean | null
  drift: 'gone' | 'untracked' | null
}

const labelSchema = z.string().min(1, 'must not be empty').max(50, 'at most 50 characters (an n8n limit)')
const scopeSchema = z.string().regex(/^[A-Za-z][A-Za-z0-9-]*:[A-Za-z][A-Za-z0-9-]*$/, 'an n8n scope looks like resource:action, e.g. workflow:read')
const createInput = z.object({
  label: labelSchema,
  scopes: z.array(scopeSchema).min(1, 'give at least one scope, e.g. workflow:read'),
  expiresInSeconds: z.number().int().positive().optional(),
})

export function assertN8nKeyId(input: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(input)) throw new UsageError(`"${printable(input)}" is not an n8n API key id`, '`momentry n8n list` shows the ids')
  return input
}

interface Row {
  n8n_key_id: string
  label: string
  scopes: string[]
  last4: string
  expires_at: Date | null
  created_at: Date
  created_by: string
  n8n_user_id: string | null
  n8n_user: string | null
}
const COLUMNS = 'n8n_key_id, label, scopes, last4, expires_at, created_at, created_by, n8n_user_id, n8n_user'

/**
 * Whether a tracked key is the session user's: by n8n user id when both are known, else by
 * e-mail. 'unknown' for rows recorded before momentry kept the owner.
 */
function ownerOf(r: Row, s: N8nSession): 'mine' | 'other' | 'unknown' {
  if (r.n8n_user_id && s.userId) return r.n8n_user_id === s.userId ? 'mine' : 'other'
  if (r.n8n_user) return sameEmail(r.n8n_user, ownerEmail(s)) || sameEmail(r.n8n_user, s.email) ? 'mine' : 'other'
  return 'unknown'
}

const sameEmail = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()
/** The logged-in user's e-mail as n8n knows it (the login may have been typed differently). */
const ownerEmail = (s: N8nSession) => s.userEmail ?? s.email

/** n8n paged its answer and sent less than all of the user's keys: absence proves nothing. */
function partialList(s: N8nSession, id: string): ExternalServiceError {
  return new ExternalServiceError(`n8n sent only part of ${s.email}'s key list and ${id} is not on it, so momentry cannot tell whether the key still exists`, {
    code: 'SERVICE_BAD_RESPONSE',
    status: 200,
    hint: 'Delete or rotate it in the n8n UI (Settings → n8n API), then check with `momentry n8n list`; nothing was changed',
  })
}

const fromRow = (r: Row, onServer: boolean | null): N8nKeyView => ({
  id: r.n8n_key_id,
  label: r.label,
  scopes: r.scopes,
  last4: r.last4,
  expiresAt: r.expires_at?.toISOString() ?? null,
  createdAt: r.created_at.toISOString(),
  createdBy: r.created_by,
  owner: r.n8n_user,
  tracked: true,
  onServer,
  drift: onServer === false ? 'gone' : null,
})

/** n8n's expiresAt (unix seconds, or an ISO string on some builds) as a Date. */
function expiryOf(k: N8nKey): Date | null {
  if (k.expiresAt === null || k.expiresAt === undefined) return null
  const d = typeof k.expiresAt === 'number' ? new Date(k.expiresAt * 1000) : new Date(k.expiresAt)
  return Number.isNaN(d.getTime()) ? null : d
}

const lastFour = (k: N8nKey) => (k.apiKey ?? '').replace(/^\*+/, '').slice(-4)

const fromRemote = (k: N8nKey): N8nKeyView => ({
  id: k.id,
  label: k.label,
  scopes: k.scopes,
  last4: lastFour(k),
  expiresAt: expiryOf(k)?.toISOString() ?? null,
  createdAt: null,
  createdBy: null,
  owner: null,
  tracked: false,
  onServer: true,
  drift: 'untracked',
})

async function trackedRow(ctx: CoreContext, url: string, id: string): Promise<Row | undefined> {
  const [row] = await ctx.sql<Row[]>`select ${ctx.sql.unsafe(COLUMNS)} from n8n_api_keys where n8n_url = ${url} and n8n_key_id = ${id} and deleted_at is null`
  return row
}

export interface IssuedN8nKey {
  /** n8n's rawApiKey: shown once, never stored. */
  secret: string
  key: N8nKeyView
}

/** `ci` → `ci-rot-20261122T031400Z`, within n8n's 50 characters (labels are unique per user). */
export function rotatedLabel(label: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
  return `${label.replace(/-rot-\d{8}T\d{6}Z$/, '').slice(0, 50 - 21)}-rot-${stamp}`
}

async function assertLabelFree(s: N8nSession, label: string): Promise<void> {
  if ((await listN8nKeysRemote(s)).keys.some((k) => k.label === label)) {
    throw new ConflictError(`n8n already has an API key labelled ${label} for ${s.email}`, 'Labels are unique per user in n8n: pick another --label, or delete the old key (`momentry n8n list` shows ids)')
  }
}

async function mint(ctx: CoreContext, s: N8nSession, input: { label: string; scopes: string[]; expiresAt: Date | null }, action: 'n8n.key.create' | 'n8n.key.rotate', extra: Record<string, unknown> = {}): Promise<IssuedN8nKey> {
  await assertLabelFree(s, input.label)
  const body = { label: input.label, scopes: input.scopes, expiresAt: input.expiresAt ? Math.floor(input.expiresAt.getTime() / 1000) : null }
  const created = await createN8nKeyRemote(s, body).catch(async (error) => {
    // The label is free, so a conflict means a key made in this same second: n8n's JWT has a
    // one-second iat, so the next second gives a different key.
    if ((error as { exitCode?: number }).exitCode !== ExitCode.CONFLICT) throw error
    await new Promise((r) => setTimeout(r, 1100))
    return createN8nKeyRemote(s, body)
  })
  const now = ctx.clock.now()
  const last4 = created.rawApiKey.slice(-4)
  try {
    const row = await ctx.sql.begin(async (tx) => {
      const [r] = await tx<Row[]>`
        insert into n8n_api_keys (n8n_url, n8n_key_id, label, scopes, last4, expires_at, created_at, created_by, n8n_user_id, n8n_user)
        values (${s.target.url}, ${created.id}, ${created.label}, ${created.scopes.length ? created.scopes : input.scopes}::text[], ${last4}, ${expiryOf(created) ?? input.expiresAt}, ${now}, ${ctx.actor},
                ${created.userId != null ? String(created.userId) : (s.userId ?? null)}, ${ownerEmail(s)})
        returning ${tx.unsafe(COLUMNS)}`
      await appendAudit(tx, { keyId: null, action, actor: ctx.actor, at: now, details: { n8nUrl: s.target.url, n8nKeyId: created.id, label: created.label, scopes: input.scopes, ...extra } })
      return r!
    })
    return { secret: created.rawApiKey, key: fromRow(row, true) }
  } catch (error) {
    await deleteN8nKeyRemote(s, created.id).catch(() => ctx.log.warn(`n8n key ${created.id} was created but could not be recorded or deleted again; delete it in n8n`))
    throw error
  }
}

/**
 * Mint an n8n API key and track it (without its secret). Scopes are checked against the
 * ones n8n allows this user's role before the key is made.
 */
export async function createN8nKey(ctx: CoreContext, s: N8nSession, input: { label: string; scopes: string[]; expiresInSeconds?: number }): Promise<IssuedN8nKey> {
  const i = parseInput(createInput, input)
  const scopes = [...new Set(i.scopes)]
  const allowed = await listN8nScopes(s)
  const bad = scopes.find((sc) => !allowed.includes(sc))
  if (bad !== undefined) throw new UsageError(`--scopes: n8n does not allow "${printable(bad)}" for ${s.email}'s role`, `Allowed: ${allowed.join(', ') || 'none'}`)
  const expiresAt = i.expiresInSeconds ? new Date(ctx.clock.now().getTime() + i.expiresInSeconds * 1000) : null
  return mint(ctx, s, { label: i.label, scopes, expiresAt }, 'n8n.key.create')
}

export interface N8nKeyList {
  url: string
  /** The logged-in n8n user: n8n shows each user only their own keys. */
  user: string
  keys: N8nKeyView[]
  drift: { gone: number; untracked: number }
  /** Tracked keys of other n8n users: listed, but their drift cannot be seen from this login. */
  otherUsers: number
  /** false when n8n paged its answer and sent only part of the list: nothing is called gone then. */
  complete: boolean
}

/**
 * Tracked keys joined with n8n's list, flagging drift both ways. n8n lists only the
 * logged-in user's keys, so another user's tracked key is shown without a verdict.
 */
export async function listN8nKeys(ctx: CoreContext, s: N8nSession): Promise<N8nKeyList> {
  const { keys: remote, complete } = await listN8nKeysRemote(s)
  const local = await ctx.sql<Row[]>`select ${ctx.sql.unsafe(COLUMNS)} from n8n_api_keys where n8n_url = ${s.target.url} and deleted_at is null order by created_at desc, id desc`
  const remoteById = new Map(remote.map((k) => [k.id, k]))
  const localIds = new Set(local.map((r) => r.n8n_key_id))
  const me = ownerEmail(s)
  await claimListed(ctx, s, local.filter((r) => remoteById.has(r.n8n_key_id) && (r.n8n_user !== me || (s.userId !== undefined && r.n8n_user_id !== s.userId))))
  let otherUsers = 0
  const keys = [
    ...local.map((r) => {
      const k = remoteById.get(r.n8n_key_id)
      if (k) return { ...fromRow(r, true), label: k.label, owner: me }
      const other = ownerOf(r, s) === 'other'
      if (other) otherUsers++
      return fromRow(r, other || !complete ? null : false)
    }),
    ...remote.filter((k) => !localIds.has(k.id)).map((k) => ({ ...fromRemote(k), owner: me })),
  ]
  return {
    url: s.target.url,
    user: me,
    keys,
    drift: { gone: keys.filter((k) => k.drift === 'gone').length, untracked: keys.filter((k) => k.drift === 'untracked').length },
    otherUsers,
    complete,
  }
}

/**
 * Tracked keys that n8n lists for this login are this user's: record so on rows that had no
 * owner (made before momentry kept it) or an outdated one (a changed e-mail).
 */
async function claimListed(ctx: CoreContext, s: N8nSession, rows: Row[]): Promise<void> {
  if (rows.length === 0) return
  const ids = rows.map((r) => r.n8n_key_id)
  await ctx.sql`update n8n_api_keys set n8n_user = ${ownerEmail(s)}, n8n_user_id = coalesce(${s.userId ?? null}, n8n_user_id)
                where n8n_url = ${s.target.url} and deleted_at is null and n8n_key_id in ${ctx.sql(ids)}`
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
 * read again afterwards to confirm it is gone. A key n8n does not list is not found, unless
 * momentry tracks it as this user's: then it was deleted in n8n, and momentry stops tracking it.
 */
export async function deleteN8nKey(ctx: CoreContext, s: N8nSession, input: { id: string }, extra: Record<string, unknown> = {}): Promise<DeletedN8nKey> {
  const id = assertN8nKeyId(input.id)
  const listed = await listN8nKeysRemote(s)
  const before = listed.keys.find((k) => k.id === id)
  if (!before) {
    const tracked = await trackedRow(ctx, s.target.url, id)
    const owner = tracked ? ownerOf(tracked, s) : undefined
    if (tracked && owner === 'other') throw notTheirs(s, id, tracked)
    if (tracked && !listed.complete) throw partialList(s, id)
    if (tracked && owner === 'mine' && (await markDeleted(ctx, s, id, { label: tracked.label, alreadyGone: true, ...extra }, { onlyTracked: true }))) {
      return { id, label: tracked.label, tracked: true, confirmed: true, alreadyGone: true }
    }
    throw new NotFoundError(
      `n8n has no API key ${id} for ${s.email}${tracked ? ` (momentry tracks it as "${tracked.label}": it was deleted in n8n, or is another user's)` : ''}`,
      '`momentry n8n list` shows the keys and any drift',
    )
  }
  await deleteN8nKeyRemote(s, id)
  if ((await listN8nKeysRemote(s)).keys.some((k) => k.id === id)) {
    throw new ExternalServiceError(`n8n answered the delete of ${id} with success but still lists the key`, { code: 'SERVICE_ERROR', status: 200, hint: 'Delete it in the n8n UI (Settings → n8n API) and check the n8n log' })
  }
  const tracked = await markDeleted(ctx, s, id, { label: before.label, ...extra })
  return { id, label: before.label, tracked, confirmed: true }
}

/**
 * Stop tracking a key (if tracked) and audit the delete, in one transaction. With
 * `onlyTracked`, a key no longer tracked (another process got there first) changes nothing.
 */
async function markDeleted(ctx: CoreContext, s: N8nSession, id: string, details: Record<string, unknown>, options: { onlyTracked?: boolean } = {}): Promise<boolean> {
  const now = ctx.clock.now()
  return ctx.sql.begin(async (tx) => {
    const rows = await tx`update n8n_api_keys set deleted_at = ${now} where n8n_url = ${s.target.url} and n8n_key_id = ${id} and deleted_at is null returning id`
    if (rows.length === 0 && options.onlyTracked) return false
    await appendAudit(tx, { keyId: null, action: 'n8n.key.delete', actor: ctx.actor, at: now, details: { n8nUrl: s.target.url, n8nKeyId: id, ...details } })
    return rows.length > 0
  })
}

/** Another n8n user's key: only they can see, rotate or delete it. */
function notTheirs(s: N8nSession, id: string, r: Row): NotFoundError {
  return new NotFoundError(
    `n8n API key ${id} ("${r.label}") belongs to the n8n user ${r.n8n_user ?? 'who made it'}, not ${s.email}; n8n lets only its owner see, rotate or delete it`,
    `Log in as that user (\`momentry auth login n8n\`, or N8N_EMAIL/N8N_PASSWORD) and run the command again; nothing was changed`,
  )
}

export interface RotatedN8nKey extends IssuedN8nKey {
  previous: { id: string; deleted: boolean; error?: { message: string; status?: number } }
}

/**
 * Replace a tracked key: create the new one first (a derived label, since n8n labels are
 * unique per user; same scopes; a key that had a lifetime gets the same lifetime from now),
 * then delete the old one and confirm it is gone.
 */
export async function rotateN8nKey(ctx: CoreContext, s: N8nSession, input: { id: string }): Promise<RotatedN8nKey> {
  const id = assertN8nKeyId(input.id)
  return withRotationLock(ctx, `n8n API key ${id}`, `n8n:${s.target.url}:${id}`, () => rotateLocked(ctx, s, id))
}

async function rotateLocked(ctx: CoreContext, s: N8nSession, id: string): Promise<RotatedN8nKey> {
  const old = await trackedRow(ctx, s.target.url, id)
  if (!old) throw new NotFoundError(`momentry does not track an n8n API key ${id} at ${s.target.url}`, 'Only keys created with `momentry n8n create` can be rotated; `momentry n8n list` shows which are tracked')
  // n8n lists only the logged-in user's keys and answers 200 to any delete: make sure the old
  // key is this user's and still there *before* minting a replacement, or a rotation by the
  // wrong user would report a live key as deleted. n8n's list decides; the recorded owner
  // only words the refusal.
  const listed = await listN8nKeysRemote(s)
  if (!listed.keys.some((k) => k.id === id)) {
    if (ownerOf(old, s) === 'other') throw notTheirs(s, id, old)
    if (!listed.complete) throw partialList(s, id)
    throw new NotFoundError(`n8n API key ${id} is not among the keys of ${s.email} at ${s.target.url}`, 'It was deleted in n8n, or belongs to another n8n user: log in as its owner with `momentry auth login n8n`; nothing was created')
  }
  const now = ctx.clock.now()
  const lifetime = old.expires_at ? old.expires_at.getTime() - old.created_at.getTime() : null
  const issued = await mint(ctx, s, { label: rotatedLabel(old.label, now), scopes: old.scopes, expiresAt: lifetime && lifetime > 0 ? new Date(now.getTime() + lifetime) : null }, 'n8n.key.rotate', { rotatedFrom: id })
  const previous: RotatedN8nKey['previous'] = { id, deleted: false }
  try {
    await deleteN8nKey(ctx, s, { id }, { replacedBy: issued.key.id })
    previous.deleted = true
  } catch (error) {
    const e = error as { line?: string; status?: number; exitCode?: number }
    if (e.exitCode === 5) {
      // Already gone from n8n (it was listed as this user's a moment ago): the goal is reached;
      // stop tracking it. The new key is made and recorded, so a failure here is only reported.
      try {
        await markDeleted(ctx, s, id, { label: old.label, alreadyGone: true, replacedBy: issued.key.id }, { onlyTracked: true })
        previous.deleted = true
      } catch (markError) {
        previous.error = { message: `it is gone from n8n, but momentry could not stop tracking it: ${(markError as Error).message}` }
      }
    } else previous.error = { message: e.line ?? String(error), ...(e.status ? { status: e.status } : {}) }
  }
  return { ...issued, previous }
}
