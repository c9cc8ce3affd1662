import * as z from 'zod'

import { appendAudit } from '../audit/repo.js'
import type { CoreContext } from '../context.js'
import { printable } from '../printable.js'
import { MomentryError, NotFoundError, UsageError } from '../errors.js'
import { withRotationLock } from '../integrations/rotation-lock.js'
import { parseInput } from '../validate-input.js'
import type { GiteaSession, GiteaToken } from './gitea-client.js'
import { createGiteaTokenRemote, deleteGiteaTokenRemote, GITEA_SCOPES, listGiteaTokensRemote } from './gitea-client.js'

/** A Gitea token as momentry shows it: never the secret, at most its last eight characters. */
export interface GiteaTokenView {
  id: number
  user: string
  name: string
  scopes: string[]
  lastEight: string
  /** When momentry created it (null for a token momentry does not track). */
  createdAt: string | null
  createdBy: string | null
  tracked: boolean
  /** Present in Gitea's list (null when the server was not asked). */
  onServer: boolean | null
  /** `gone`: tracked but no longer in Gitea; `untracked`: in Gitea, not created through momentry. */
  drift: 'gone' | 'untracked' | null
}

const userSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,40}$/, 'a Gitea user name is 1–40 letters, digits and _ . -')
const nameSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(255, 'at most 255 characters')
  .refine((n) => !/[\u0000-\u001f\u007f]/.test(n), 'no control characters')
const scopesSchema = z.array(z.string()).min(1, 'give at least one scope, e.g. read:repository')

/** Every scope must be one Gitea knows; checked before any request. */
export function assertGiteaScopes(scopes: string[]): void {
  const bad = scopes.find((s) => !GITEA_SCOPES.includes(s))
  if (bad !== undefined) throw new UsageError(`--scopes: "${printable(bad)}" is not a Gitea scope`, `Valid scopes: ${GITEA_SCOPES.join(', ')}`)
}

const createInput = z.object({ user: userSchema, name: nameSchema, scopes: scopesSchema })

/** A Gitea token id as given on the command line: a positive integer, nothing else. */
export function parseGiteaTokenId(input: string): number {
  if (!/^[1-9]\d{0,15}$/.test(input.trim())) {
    throw new UsageError(`"${printable(input)}" is not a Gitea token id`, 'Ids are positive integers; `momentry gitea list` shows them (tokens are never deleted by name)')
  }
  return Number(input.trim())
}

interface Row {
  gitea_token_id: string
  username: string
  token_name: string
  scopes: string[]
  token_last_eight: string
  created_at: Date
  created_by: string
}

const fromRow = (r: Row, onServer: boolean | null): GiteaTokenView => ({
  id: Number(r.gitea_token_id),
  user: r.username,
  name: r.token_name,
  scopes: r.scopes,
  lastEight: r.token_last_eight,
  createdAt: r.created_at.toISOString(),
  createdBy: r.created_by,
  tracked: true,
  onServer,
  drift: onServer === false ? 'gone' : null,
})

const fromRemote = (t: GiteaToken, user: string): GiteaTokenView => ({
  id: t.id,
  user,
  name: t.name,
  scopes: t.scopes,
  lastEight: t.token_last_eight,
  createdAt: null,
  createdBy: null,
  tracked: false,
  onServer: true,
  drift: 'untracked',
})

async function trackedRow(ctx: CoreContext, url: string, id: number): Promise<Row | undefined> {
  const [row] = await ctx.sql<Row[]>`
    select gitea_token_id::text, username, token_name, scopes, token_last_eight, created_at, created_by
    from gitea_tokens where gitea_url = ${url} and gitea_token_id = ${id} and deleted_at is null`
  return row
}

async function record(ctx: CoreContext, s: GiteaSession, user: string, t: { id: number; name: string; scopes: string[]; token_last_eight: string }, action: 'gitea.token.create' | 'gitea.token.rotate', extra: Record<string, unknown> = {}): Promise<Row> {
  const now = ctx.clock.now()
  return ctx.sql.begin(async (tx) => {
    const [row] = await tx<Row[]>`
      insert into gitea_tokens (gitea_url, gitea_token_id, username, token_name, scopes, token_last_eight, created_at, created_by)
      values (${s.target.url}, ${t.id}, ${user}, ${t.name}, ${t.scopes}::text[], ${t.token_last_eight.slice(-8)}, ${now}, ${ctx.actor})
      returning gitea_token_id::text, username, token_name, scopes, token_last_eight, created_at, created_by`
    await appendAudit(tx, { keyId: null, action, actor: ctx.actor, at: now, details: { giteaUrl: s.target.url, user, tokenId: t.id, name: t.name, scopes: t.scopes, ...extra } })
    return row!
  })
}

export interface IssuedGiteaToken {
  /** The token (Gitea's sha1): shown once, never stored. */
  secret: string
  token: GiteaTokenView
}

/**
 * Mint a Gitea personal access token for `user` and track it (without its secret).
 * Scopes are checked against Gitea's list before any request. If recording it fails, the
 * new token is deleted again so no untracked secret is left behind.
 */
export async function createGiteaToken(ctx: CoreContext, s: GiteaSession, input: { user?: string; name: string; scopes: string[] }): Promise<IssuedGiteaToken> {
  const i = parseInput(createInput, { ...input, user: input.user ?? s.username })
  assertGiteaScopes(i.scopes)
  const scopes = [...new Set(i.scopes)]
  const created = await createGiteaTokenRemote(s, { user: i.user, name: i.name, scopes })
  const row = await recordOrUndo(ctx, s, i.user, created.id, () => record(ctx, s, i.user, { ...created, token_last_eight: created.token_last_eight || created.sha1.slice(-8) }, 'gitea.token.create'))
  return { secret: created.sha1, token: fromRow(row, true) }
}

async function recordOrUndo<T>(ctx: CoreContext, s: GiteaSession, user: string, id: number, write: () => Promise<T>): Promise<T> {
  try {
    return await write()
  } catch (error) {
    await deleteGiteaTokenRemote(s, user, id).catch((undoError) => ctx.log.warn(`Gitea token ${id} was created but could not be recorded or deleted again (${(undoError as Error).message}); delete it in Gitea`))
    throw error
  }
}

export interface GiteaTokenList {
  url: string
  user: string
  tokens: GiteaTokenView[]
  drift: { gone: number; untracked: number }
}

/** Tracked tokens of a user joined with Gitea's own list (all pages), flagging drift both ways. */
export async function listGiteaTokens(ctx: CoreContext, s: GiteaSession, input: { user?: string } = {}): Promise<GiteaTokenList> {
  const user = parseInput(userSchema, input.user ?? s.username, '--user')
  const remote = await listGiteaTokensRemote(s, user)
  const local = await ctx.sql<Row[]>`
    select gitea_token_id::text, username, token_name, scopes, token_last_eight, created_at, created_by
    from gitea_tokens where gitea_url = ${s.target.url} and lower(username) = lower(${user}) and deleted_at is null
    order by gitea_token_id desc`
  const remoteById = new Map(remote.map((t) => [t.id, t]))
  const localIds = new Set(local.map((r) => Number(r.gitea_token_id)))
  const tokens = [
    ...local.map((r) => {
      const t = remoteById.get(Number(r.gitea_token_id))
      // Gitea's view of name and scopes wins: it normalises scopes, and a token may be renamed there.
      return t ? { ...fromRow(r, true), name: t.name, scopes: t.scopes } : fromRow(r, false)
    }),
    ...remote.filter((t) => !localIds.has(t.id)).map((t) => fromRemote(t, user)),
  ].sort((a, b) => b.id - a.id)
  return {
    url: s.target.url,
    user,
    tokens,
    drift: { gone: tokens.filter((t) => t.drift === 'gone').length, untracked: tokens.filter((t) => t.drift === 'untracked').length },
  }
}

async function markDeleted(ctx: CoreContext, s: GiteaSession, user: string, id: number, extra: Record<string, unknown> = {}): Promise<boolean> {
  const now = ctx.clock.now()
  return ctx.sql.begin(async (tx) => {
    const rows = await tx`
      update gitea_tokens set deleted_at = ${now}
      where gitea_url = ${s.target.url} and gitea_token_id = ${id} and deleted_at is null returning token_name`
    await appendAudit(tx, { keyId: null, action: 'gitea.token.delete', actor: ctx.actor, at: now, details: { giteaUrl: s.target.url, user, tokenId: id, ...extra } })
    return rows.length > 0
  })
}

export interface DeletedGiteaToken {
  id: number
  user: string
  /** Whether momentry had been tracking it. */
  tracked: boolean
  /** Tracked, but already deleted in Gitea: momentry stopped tracking it. */
  alreadyGone?: boolean
}

/** Delete a token by numeric id (for the user momentry recorded, else `user`, else the logged-in one). */
export async function deleteGiteaToken(ctx: CoreContext, s: GiteaSession, input: { id: string; user?: string }): Promise<DeletedGiteaToken> {
  const id = parseGiteaTokenId(input.id)
  const givenUser = input.user === undefined ? undefined : parseInput(userSchema, input.user, '--user')
  const row = await trackedRow(ctx, s.target.url, id)
  const user = row?.username ?? givenUser ?? s.username
  try {
    await deleteGiteaTokenRemote(s, user, id)
  } catch (error) {
    // Tracked, but Gitea (asked as its owner) no longer has it: stop tracking it, so the
    // "gone from server" drift can be cleared without creating a new credential.
    if (!(row && error instanceof MomentryError && error.status === 404)) throw error
    await markDeleted(ctx, s, user, id, { alreadyGone: true })
    return { id, user, tracked: true, alreadyGone: true }
  }
  const tracked = await markDeleted(ctx, s, user, id)
  return { id, user, tracked }
}

export interface RotatedGiteaToken extends IssuedGiteaToken {
  previous: { id: number; name: string; deleted: boolean; error?: { message: string; status?: number } }
}

/** `ci-bot` → `ci-bot-rot-20261122T031400Z` (a previous suffix is replaced, not stacked). */
export function rotatedName(name: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
  const base = name.replace(/-rot-\d{8}T\d{6}Z$/, '')
  return `${base.slice(0, 255 - 24)}-rot-${stamp}`
}

/**
 * Replace a tracked token: create the new one first (same user and scopes, a derived name,
 * since Gitea names are unique per user), then delete the old one. A failure before the
 * new token exists leaves the old one untouched; a failure deleting the old one is
 * reported in `previous.error` while the new secret is still returned.
 */
export async function rotateGiteaToken(ctx: CoreContext, s: GiteaSession, input: { id: string }): Promise<RotatedGiteaToken> {
  const id = parseGiteaTokenId(input.id)
  return withRotationLock(ctx, `Gitea token ${id}`, `gitea:${s.target.url}:${id}`, () => rotateLocked(ctx, s, id))
}

async function rotateLocked(ctx: CoreContext, s: GiteaSession, id: number): Promise<RotatedGiteaToken> {
  const old = await trackedRow(ctx, s.target.url, id)
  if (!old) {
    throw new NotFoundError(`momentry does not track a Gitea token ${id} at ${s.target.url}`, 'Only tokens created with `momentry gitea create` can be rotated; `momentry gitea list` shows which are tracked')
  }
  const name = rotatedName(old.token_name, ctx.clock.now())
  const created = await createGiteaTokenRemote(s, { user: old.username, name, scopes: old.scopes })
  const row = await recordOrUndo(ctx, s, old.username, created.id, () =>
    record(ctx, s, old.username, { ...created, token_last_eight: created.token_last_eight || created.sha1.slice(-8) }, 'gitea.token.rotate', { rotatedFrom: id }),
  )
  const previous: RotatedGiteaToken['previous'] = { id, name: old.token_name, deleted: false }
  try {
    await deleteGiteaTokenRemote(s, old.username, id).catch((error) => {
      if (error instanceof MomentryError && error.status === 404) return // already gone: the goal is reached
      throw error
    })
    await markDeleted(ctx, s, old.username, id, { replacedBy: created.id })
    previous.deleted = true
  } catch (error) {
    const e = error as MomentryError
    previous.error = { message: e.line ?? String(error), ...(e.status ? { status: e.status } : {}) }
  }
  return { secret: created.sha1, token: fromRow(row, true), previous }
}
