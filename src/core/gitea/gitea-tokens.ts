import * as z from 'zod'

import type { CoreContext } from '../context.js'
import { printable } from '../printable.js'
import { NotFoundError, RemoteNotFoundError, UsageError } from '../errors.js'
import { withRotationLock } from '../integrations/rotation-lock.js'
import { countDrift, joinWithServer, reportedFailure, rotatedName } from '../integrations/tracked-credential.js'
import { parseInput } from '../validate-input.js'
import type { GiteaSession } from './gitea-client.js'
import { createGiteaTokenRemote, deleteGiteaTokenRemote, GITEA_SCOPES, listGiteaTokensRemote } from './gitea-client.js'
import { findTrackedGiteaToken, listTrackedGiteaTokens } from './repo.js'
import { trackGiteaToken, untrackGiteaToken } from './token-tracking.js'
import type { GiteaTokenView } from './token-view.js'
import { fromRecord, fromRemote } from './token-view.js'

/** Gitea's limit on a token name. */
const NAME_MAX = 255

const userSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,40}$/, 'a Gitea user name is 1–40 letters, digits and _ . -')
const nameSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(NAME_MAX, 'at most 255 characters')
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

export interface IssuedGiteaToken {
  /** The token (Gitea's sha1): shown once, never stored. */
  secret: string
  token: GiteaTokenView
}

/**
 * Mint a Gitea personal access token for `user` and track it (without its secret).
 * Scopes are checked against Gitea's list before any request. If recording it fails, the
 * new token is deleted again so no untracked secret is left behind. Emits
 * `gitea.token.created` once it is recorded.
 */
export async function createGiteaToken(ctx: CoreContext, s: GiteaSession, input: { user?: string; name: string; scopes: string[] }): Promise<IssuedGiteaToken> {
  const i = parseInput(createInput, { ...input, user: input.user ?? s.username })
  assertGiteaScopes(i.scopes)
  const created = await createGiteaTokenRemote(s, { user: i.user, name: i.name, scopes: [...new Set(i.scopes)] })
  const record = await trackGiteaToken(ctx, s, i.user, created, null)
  return { secret: created.sha1, token: fromRecord(record, true) }
}

export interface GiteaTokenList {
  url: string
  user: string
  items: GiteaTokenView[]
  drift: { gone: number; untracked: number }
}

/** Tracked tokens of a user joined with Gitea's own list (all pages), flagging drift both ways. */
export async function listGiteaTokens(ctx: CoreContext, s: GiteaSession, input: { user?: string } = {}): Promise<GiteaTokenList> {
  const user = parseInput(userSchema, input.user ?? s.username, 'user')
  const remote = await listGiteaTokensRemote(s, user)
  const local = await listTrackedGiteaTokens(ctx.sql, s.target.url, user)
  const items = joinWithServer(local, remote, { local: (r) => r.tokenId, remote: (t) => t.id })
    .map((j) =>
      j.local === undefined
        ? fromRemote(j.remote, user)
        : // Gitea's view of name and scopes wins: it normalises scopes, and a token may be renamed there.
          { ...fromRecord(j.local, j.onServer, j.drift), ...(j.remote ? { name: j.remote.name, scopes: j.remote.scopes } : {}) },
    )
    .sort((a, b) => b.id - a.id)
  return { url: s.target.url, user, items, drift: countDrift(items) }
}

export interface DeletedGiteaToken {
  id: number
  user: string
  /** Whether momentry had been tracking it. */
  tracked: boolean
  /** Tracked, but already deleted in Gitea: momentry stopped tracking it. */
  alreadyGone?: boolean
}

/**
 * Delete a token by numeric id (for the user momentry recorded, else `user`, else the
 * logged-in one) and emit `gitea.token.deleted`. A tracked token Gitea no longer has is
 * only untracked, which is how a "gone" drift is cleared.
 */
export async function deleteGiteaToken(ctx: CoreContext, s: GiteaSession, input: { id: string; user?: string; reason?: string }): Promise<DeletedGiteaToken> {
  const why = input.reason === undefined ? {} : { reason: input.reason }
  const id = parseGiteaTokenId(input.id)
  const givenUser = input.user === undefined ? undefined : parseInput(userSchema, input.user, 'user')
  const record = await findTrackedGiteaToken(ctx.sql, s.target.url, id)
  const user = record?.user ?? givenUser ?? s.username
  try {
    await deleteGiteaTokenRemote(s, user, id)
  } catch (error) {
    // Tracked, but Gitea (asked as its owner) no longer has it: stop tracking it, so the
    // "gone from server" drift can be cleared without creating a new credential.
    if (!(record && error instanceof RemoteNotFoundError)) throw error
    await untrackGiteaToken(ctx, s, { id, user, name: record.name }, { alreadyGone: true, ...why })
    return { id, user, tracked: true, alreadyGone: true }
  }
  const tracked = await untrackGiteaToken(ctx, s, { id, user, name: record?.name ?? null }, why)
  return { id, user, tracked }
}

export interface RotatedGiteaToken extends IssuedGiteaToken {
  previous: { id: number; name: string; deleted: boolean; error?: { message: string; status?: number } }
}

/**
 * Replace a tracked token: create the new one first (same user and scopes, a derived name,
 * since Gitea names are unique per user), then delete the old one. A failure before the
 * new token exists leaves the old one untouched; a failure deleting the old one is
 * reported in `previous.error` while the new secret is still returned. Emits
 * `gitea.token.created` for the new token, `gitea.token.deleted` for the old one once it is
 * gone, then `gitea.token.rotated` naming both.
 */
export async function rotateGiteaToken(ctx: CoreContext, s: GiteaSession, input: { id: string; reason?: string }): Promise<RotatedGiteaToken> {
  const id = parseGiteaTokenId(input.id)
  return withRotationLock(ctx, `Gitea token ${id}`, `gitea:${s.target.url}:${id}`, () => rotateLocked(ctx, s, id, input.reason))
}

async function rotateLocked(ctx: CoreContext, s: GiteaSession, id: number, reason: string | undefined): Promise<RotatedGiteaToken> {
  const old = await findTrackedGiteaToken(ctx.sql, s.target.url, id)
  if (!old) {
    throw new NotFoundError(`momentry does not track a Gitea token ${id} at ${s.target.url}`, 'Only tokens created with `momentry gitea create` can be rotated; `momentry gitea list` shows which are tracked')
  }
  const created = await createGiteaTokenRemote(s, { user: old.user, name: rotatedName(old.name, ctx.clock.now(), NAME_MAX), scopes: old.scopes })
  const record = await trackGiteaToken(ctx, s, old.user, created, id)
  const previous: RotatedGiteaToken['previous'] = { id, name: old.name, deleted: false }
  try {
    await deleteGiteaTokenRemote(s, old.user, id).catch((error: unknown) => {
      if (!(error instanceof RemoteNotFoundError)) throw error // already gone: the goal is reached
    })
    await untrackGiteaToken(ctx, s, { id, user: old.user, name: old.name }, { replacedBy: created.id, ...(reason === undefined ? {} : { reason }) })
    previous.deleted = true
  } catch (error) {
    previous.error = reportedFailure(error)
  }
  ctx.bus.emit({
    type: 'gitea.token.rotated',
    giteaUrl: s.target.url,
    user: old.user,
    tokenId: id,
    name: old.name,
    newTokenId: record.tokenId,
    newName: record.name,
    scopes: record.scopes,
    previousDeleted: previous.deleted,
    at: ctx.clock.now().toISOString(),
  })
  return { secret: created.sha1, token: fromRecord(record, true), previous }
}
