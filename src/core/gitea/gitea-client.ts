import * as z from 'zod'

import type { ResolvedCredential } from '../credentials/credential-store.js'
import { ConfigError, ExternalServiceError, MomentryError, RemoteConflictError, RemoteNotFoundError } from '../errors.js'
import type { ServiceResponse, ServiceTarget } from '../integrations/http.js'
import { callService, parseBody, serviceMessage, unexpectedStatus } from '../integrations/http.js'

/** Gitea's valid token scopes (models/auth/access_token_scope.go). `write` implies `read`. */
export const GITEA_SCOPE_CATEGORIES = ['activitypub', 'admin', 'misc', 'notification', 'organization', 'package', 'issue', 'repository', 'user'] as const
export const GITEA_SCOPES: readonly string[] = ['all', 'public-only', ...GITEA_SCOPE_CATEGORIES.flatMap((c) => [`read:${c}`, `write:${c}`])]

export const giteaTokenSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  token_last_eight: z.string().max(8).optional().default(''),
  scopes: z.array(z.string()).nullish().transform((s) => s ?? []),
})
const createdTokenSchema = giteaTokenSchema.extend({ sha1: z.string().min(8) })
const userSchema = z.object({ id: z.number(), login: z.string() }).loose()

/** Printable ASCII without blanks: anything else cannot be a token (nor go into a header). */
export const TOKEN_SHAPE = /^[\x21-\x7e]{1,2048}$/

export type GiteaToken = z.infer<typeof giteaTokenSchema>
export type CreatedGiteaToken = z.infer<typeof createdTokenSchema>

/** A Gitea account momentry can act as (Basic auth with its real password). */
export interface GiteaSession {
  target: ServiceTarget
  username: string
  password: string
}

export function giteaTarget(url: string, timeoutSeconds: number): ServiceTarget {
  return { label: 'Gitea', url, timeoutMs: timeoutSeconds * 1000, loginHint: 'momentry auth login gitea' }
}

/** The session for the resolved credentials, or a config error naming `auth login`. */
export function giteaSession(cred: ResolvedCredential, timeoutSeconds: number): GiteaSession {
  if (!cred.username || !cred.password) {
    throw new ConfigError('no Gitea credentials', 'Run `momentry auth login gitea` (or set GITEA_USERNAME and GITEA_PASSWORD)')
  }
  return { target: giteaTarget(cred.url, timeoutSeconds), username: cred.username, password: cred.password }
}

/** Basic auth, plus `Sudo: user` when acting for someone other than the logged-in admin. */
function headers(s: GiteaSession, forUser?: string): Record<string, string> {
  const h: Record<string, string> = { authorization: `Basic ${Buffer.from(`${s.username}:${s.password}`).toString('base64')}` }
  if (forUser && forUser.toLowerCase() !== s.username.toLowerCase()) h.sudo = forUser
  return h
}

const tokensPath = (user: string) => `/api/v1/users/${encodeURIComponent(user)}/tokens`

function authFailed(s: GiteaSession, res: ServiceResponse): MomentryError {
  const detail = serviceMessage(res)
  return new ExternalServiceError(`Gitea refused the password for ${s.username} (401${detail ? `: ${detail}` : ''})`, {
    code: 'SERVICE_AUTH_FAILED',
    status: 401,
    hint: 'Run `momentry auth login gitea` to store the right one (accounts with 2FA are not supported)',
  })
}

function forbidden(s: GiteaSession, user: string, res: ServiceResponse): MomentryError {
  const detail = serviceMessage(res) ?? 'forbidden'
  const hint = /change your password/i.test(detail)
    ? `Log in to Gitea once as ${s.username} and change the password, then run \`momentry auth login gitea\``
    : `Use an admin account (for Sudo) or log in as ${user}: \`momentry auth login gitea\``
  return new ExternalServiceError(`Gitea refused to manage ${user}'s tokens as ${s.username} (403: ${detail})`, { code: 'SERVICE_FORBIDDEN', status: 403, hint })
}

function noUser(user: string, res: ServiceResponse): RemoteNotFoundError {
  return new RemoteNotFoundError(`Gitea has no user ${user} (404)`, 'Check --user', res.status)
}

/** Check the stored password works for token management (what every command needs). */
export async function checkGiteaLogin(s: GiteaSession): Promise<{ login: string }> {
  const res = await callService(s.target, 'GET', `${tokensPath(s.username)}?page=1&limit=1`, { headers: headers(s) })
  if (res.status === 200) {
    parseBody(s.target, 'the token list', res, z.array(giteaTokenSchema))
    return { login: s.username }
  }
  if (res.status === 401) throw authFailed(s, res)
  if (res.status === 403) throw forbidden(s, s.username, res)
  if (res.status === 404) throw noUser(s.username, res)
  throw unexpectedStatus(s.target, 'the login check', res)
}

/** POST /api/v1/users/{user}/tokens. The returned sha1 is the secret: show it once, never store it. */
export async function createGiteaTokenRemote(s: GiteaSession, input: { user: string; name: string; scopes: string[] }): Promise<CreatedGiteaToken> {
  const res = await callService(s.target, 'POST', tokensPath(input.user), { headers: headers(s, input.user), json: { name: input.name, scopes: input.scopes } })
  if (res.status === 201 || res.status === 200) return parseBody(s.target, 'the new token', res, createdTokenSchema)
  const detail = serviceMessage(res) ?? ''
  if (res.status === 400 && /name has been used/i.test(detail)) {
    throw new RemoteConflictError(`${input.user} already has a Gitea token named ${input.name}`, 'Pick another --name, or delete the old one (`momentry gitea list` shows ids)', 400)
  }
  if (res.status === 400 || res.status === 422) {
    throw new ExternalServiceError(`Gitea rejected the token (${res.status}: ${detail || 'bad request'})`, {
      code: 'SERVICE_REJECTED',
      status: res.status,
      hint: `Check --name and --scopes (valid scopes: ${GITEA_SCOPES.join(', ')})`,
    })
  }
  if (res.status === 401) throw authFailed(s, res)
  if (res.status === 403) throw forbidden(s, input.user, res)
  if (res.status === 404) throw noUser(input.user, res)
  throw unexpectedStatus(s.target, 'the token creation', res)
}

/** Every token of a user, following Gitea's pages (X-Total-Count), newest first. */
export async function listGiteaTokensRemote(s: GiteaSession, user: string): Promise<GiteaToken[]> {
  const all: GiteaToken[] = []
  const limit = 50
  for (let page = 1; page <= 1000; page++) {
    const res = await callService(s.target, 'GET', `${tokensPath(user)}?page=${page}&limit=${limit}`, { headers: headers(s, user) })
    if (res.status === 401) throw authFailed(s, res)
    if (res.status === 403) throw forbidden(s, user, res)
    if (res.status === 404) throw noUser(user, res)
    if (res.status !== 200) throw unexpectedStatus(s.target, 'the token list', res)
    const items = parseBody(s.target, 'the token list', res, z.array(giteaTokenSchema))
    all.push(...items)
    const total = Number(res.headers['x-total-count'])
    // Without a usable total, a short page is the last one.
    if (items.length === 0 || (Number.isFinite(total) ? all.length >= total : items.length < limit)) break
  }
  return all
}

/**
 * DELETE by numeric id (never by name: Gitea parses the path as an id first). A token Gitea
 * does not have is a RemoteNotFoundError, which callers use to tell "already gone" apart.
 */
export async function deleteGiteaTokenRemote(s: GiteaSession, user: string, id: number): Promise<void> {
  const res = await callService(s.target, 'DELETE', `${tokensPath(user)}/${id}`, { headers: headers(s, user) })
  if (res.status === 204 || res.status === 200) return
  if (res.status === 404) {
    throw new RemoteNotFoundError(`Gitea has no token ${id} for ${user} (404)`, `\`momentry gitea list --user ${user}\` shows its tokens`, 404)
  }
  if (res.status === 401) throw authFailed(s, res)
  if (res.status === 403) throw forbidden(s, user, res)
  throw unexpectedStatus(s.target, 'the token deletion', res)
}

export type GiteaVerifyResult =
  | { valid: true; status: 'valid'; login: string; httpStatus: 200 }
  | { valid: true; status: 'insufficient_scope'; login: null; httpStatus: 403; message: string }
  | { valid: false; status: 'invalid'; httpStatus: 401 }
  | { valid: false; status: 'refused'; httpStatus: 403; message: string }
  | { valid: false; status: 'malformed'; httpStatus: null }

/** GET /api/v1/user with the token: 200 valid, 401 invalid, 403 "required scope" valid but lacking read:user, other 403 refused. */
export async function verifyGiteaToken(target: ServiceTarget, token: string): Promise<GiteaVerifyResult> {
  if (!TOKEN_SHAPE.test(token)) return { valid: false, status: 'malformed', httpStatus: null }
  const res = await callService(target, 'GET', '/api/v1/user', { headers: { authorization: `token ${token}` } })
  if (res.status === 200) return { valid: true, status: 'valid', login: parseBody(target, 'the user lookup', res, userSchema).login, httpStatus: 200 }
  if (res.status === 401) return { valid: false, status: 'invalid', httpStatus: 401 }
  if (res.status === 403) {
    // Gitea also answers 403 for a user who must change their password or may not sign in:
    // only "does not have … required scope" means a working token that lacks read:user.
    const message = serviceMessage(res) ?? 'forbidden'
    return /required scope/i.test(message) ? { valid: true, status: 'insufficient_scope', login: null, httpStatus: 403, message } : { valid: false, status: 'refused', httpStatus: 403, message }
  }
  throw unexpectedStatus(target, 'the token check', res)
}
