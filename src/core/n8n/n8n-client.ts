import * as z from 'zod'

import type { ResolvedCredential } from '../credentials/credential-store.js'
import { ConfigError, ExternalServiceError, RemoteConflictError } from '../errors.js'
import type { ServiceResponse, ServiceTarget } from '../integrations/http.js'
import { TOKEN_SHAPE } from '../gitea/gitea-client.js'
import { callService, parseBody, serviceMessage, unexpectedStatus } from '../integrations/http.js'

/** An API key as n8n lists it: `apiKey` is `******` + the last four characters. */
export const n8nKeySchema = z
  .object({
    id: z.string().min(1),
    label: z.string(),
    apiKey: z.string().optional(),
    scopes: z.array(z.string()).nullish().transform((s) => s ?? []),
    // Optional and informative only: an odd value is dropped rather than failing the list.
    userId: z.union([z.string(), z.number()]).nullish().catch(undefined),
    createdAt: z.string().nullish(),
    // Unix seconds on the versions we know; an ISO string is accepted too.
    expiresAt: z.union([z.number(), z.string()]).nullish(),
  })
  .loose()
const createdKeySchema = n8nKeySchema.extend({ rawApiKey: z.string().min(8) })

export type N8nKey = z.infer<typeof n8nKeySchema>
export type CreatedN8nKey = z.infer<typeof createdKeySchema>

/** `{data: …}`: n8n wraps every success body of its internal REST API. */
const wrapped = <S extends z.ZodType>(schema: S) => z.object({ data: schema })
/** Newer builds may page the list: accept a bare array or `{items: […]}`. */
/** The user's keys as n8n listed them; `complete` is false when a paged answer says it holds more. */
export interface RemoteKeys {
  keys: N8nKey[]
  complete: boolean
}
/**
 * Newer builds may page the list: accept a bare array or `{items: […], count}`. The page
 * parameters are not part of the contract, so a short page is reported, not followed.
 */
const keyListSchema = wrapped(z.union([z.array(n8nKeySchema), z.object({ items: z.array(n8nKeySchema), count: z.number().optional().catch(undefined) }).loose()])).transform(
  (b): RemoteKeys => (Array.isArray(b.data) ? { keys: b.data, complete: true } : { keys: b.data.items, complete: b.data.count === undefined || b.data.count <= b.data.items.length }),
)

/** A logged-in n8n session: the `n8n-auth` cookie, sent back by hand (no cookie jar). */
export interface N8nSession {
  target: ServiceTarget
  email: string
  /** The logged-in user's n8n id and e-mail, from the login answer (when it has them). */
  userId?: string
  userEmail?: string
  cookie: string
}

export function n8nTarget(url: string, timeoutSeconds: number): ServiceTarget {
  return { label: 'n8n', url, timeoutMs: timeoutSeconds * 1000, loginHint: 'momentry auth login n8n' }
}

export function n8nCredentials(cred: ResolvedCredential): { email: string; password: string } {
  if (!cred.username || !cred.password) throw new ConfigError('no n8n credentials', 'Run `momentry auth login n8n` (or set N8N_EMAIL and N8N_PASSWORD)')
  return { email: cred.username, password: cred.password }
}

/** The `n8n-auth=…` pair from Set-Cookie, without its attributes. */
export function authCookie(res: ServiceResponse): string | undefined {
  const header = res.headers['set-cookie']
  for (const cookie of Array.isArray(header) ? header : header ? [header] : []) {
    const pair = cookie.split(';')[0]!.trim()
    if (pair.startsWith('n8n-auth=') && pair.length > 'n8n-auth='.length) return pair
  }
  return undefined
}

/**
 * POST /rest/login with both `emailOrLdapLoginId` (new builds) and `email` (≤ 1.81), and
 * keep the `n8n-auth` cookie. No browser-id header: once sent, n8n wants it on every call.
 */
export async function loginN8n(target: ServiceTarget, email: string, password: string): Promise<N8nSession> {
  const res = await callService(target, 'POST', '/rest/login', { json: { emailOrLdapLoginId: email, email, password } })
  if (res.status === 200) {
    const user = parseBody(target, 'the login', res, wrapped(z.object({ id: z.union([z.string(), z.number()]).nullish().catch(undefined), email: z.string().nullish().catch(undefined) }).loose())).data
    const cookie = authCookie(res)
    if (!cookie) {
      throw new ExternalServiceError(`n8n at ${target.url} accepted the login but sent no n8n-auth cookie`, {
        code: 'SERVICE_BAD_RESPONSE',
        status: 200,
        hint: 'Check that N8N_URL points at n8n itself and not a proxy that strips Set-Cookie',
      })
    }
    return { target, email, cookie, ...(user.id != null ? { userId: String(user.id) } : {}), ...(user.email ? { userEmail: user.email } : {}) }
  }
  const detail = serviceMessage(res)
  if (res.status === 401) {
    throw new ExternalServiceError(`n8n refused the password for ${email} (401${detail ? `: ${detail}` : ''})`, {
      code: 'SERVICE_AUTH_FAILED',
      status: 401,
      hint: 'Run `momentry auth login n8n` to store the right one',
    })
  }
  if (res.status === 429) {
    throw new ExternalServiceError('n8n is rate-limiting logins (429)', { code: 'SERVICE_RATE_LIMITED', status: 429, hint: 'Wait a minute and try again' })
  }
  if (res.status === 400) {
    throw new ExternalServiceError(`n8n rejected the login request (400${detail ? `: ${detail}` : ''})`, {
      code: 'SERVICE_REJECTED',
      status: 400,
      hint: 'Check the e-mail address (`momentry auth login n8n`) and that this is n8n 1.x or later',
    })
  }
  throw unexpectedStatus(target, 'the login', res)
}

function publicApiDisabled(s: N8nSession, res: ServiceResponse): ExternalServiceError {
  return new ExternalServiceError(`the n8n public API is disabled at ${s.target.url} (404 on /rest/api-keys)`, {
    code: 'SERVICE_PUBLIC_API_DISABLED',
    status: res.status,
    hint: 'Enable it on the n8n server (unset N8N_PUBLIC_API_DISABLED) and restart n8n',
  })
}

function sessionRefused(s: N8nSession, res: ServiceResponse): ExternalServiceError {
  return new ExternalServiceError(`n8n refused the session of ${s.email} (${res.status})`, {
    code: res.status === 401 ? 'SERVICE_AUTH_FAILED' : 'SERVICE_FORBIDDEN',
    status: res.status,
    hint: res.status === 401 ? 'Run `momentry auth login n8n` again' : 'Log in as the n8n owner or an admin (`momentry auth login n8n`)',
  })
}

async function keysCall(s: N8nSession, method: 'GET' | 'POST' | 'DELETE', path: string, what: string, json?: unknown): Promise<ServiceResponse> {
  const res = await callService(s.target, method, path, { headers: { cookie: s.cookie }, json })
  if (res.status === 404 && res.text.trim() === '') throw publicApiDisabled(s, res)
  if (res.status === 401 || res.status === 403) throw sessionRefused(s, res)
  if (res.status >= 500) throw unexpectedStatus(s.target, what, res)
  return res
}

/** Scopes this user's role may give a key (`GET /rest/api-keys/scopes`). */
export async function listN8nScopes(s: N8nSession): Promise<string[]> {
  const res = await keysCall(s, 'GET', '/rest/api-keys/scopes', 'the scope list')
  if (res.status !== 200) throw unexpectedStatus(s.target, 'the scope list', res)
  return parseBody(s.target, 'the scope list', res, wrapped(z.array(z.string()))).data
}

/**
 * POST /rest/api-keys. `rawApiKey` is the secret: show it once, never store it. A label taken
 * (or a second key in the same second) is a RemoteConflictError.
 */
export async function createN8nKeyRemote(s: N8nSession, input: { label: string; scopes: string[]; expiresAt: number | null }): Promise<CreatedN8nKey> {
  const res = await keysCall(s, 'POST', '/rest/api-keys', 'the key creation', input)
  if (res.status === 200 || res.status === 201) return parseBody(s.target, 'the new key', res, wrapped(createdKeySchema)).data
  // Seen on n8n 1.123: a unique-constraint failure is a 500 with this message, for a label the user
  // already has, or for a second key made in the same second with the same expiresAt (identical JWT).
  if (res.status === 500 && /already an entry with this name/i.test(serviceMessage(res) ?? '')) {
    throw new RemoteConflictError(`n8n already has an API key labelled ${input.label} for ${s.email}, or one was created in the same second`, 'Use another --label, or retry in a second', 500)
  }
  if (res.status === 400) {
    throw new ExternalServiceError(`n8n rejected the key (400: ${serviceMessage(res) ?? 'bad request'})`, {
      code: 'SERVICE_REJECTED',
      status: 400,
      hint: 'Check --label (1–50 characters), --scopes (allowed for your role) and --expires-in',
    })
  }
  throw unexpectedStatus(s.target, 'the key creation', res)
}

export async function listN8nKeysRemote(s: N8nSession): Promise<RemoteKeys> {
  const res = await keysCall(s, 'GET', '/rest/api-keys', 'the key list')
  if (res.status !== 200) throw unexpectedStatus(s.target, 'the key list', res)
  return parseBody(s.target, 'the key list', res, keyListSchema)
}

/** DELETE /rest/api-keys/{id}: n8n answers 200 even for an unknown id, so callers re-list. */
export async function deleteN8nKeyRemote(s: N8nSession, id: string): Promise<void> {
  const res = await keysCall(s, 'DELETE', `/rest/api-keys/${encodeURIComponent(id)}`, 'the key deletion')
  if (res.status !== 200 && res.status !== 204) throw unexpectedStatus(s.target, 'the key deletion', res)
}

export type N8nVerifyResult =
  | { valid: true; status: 'valid'; httpStatus: 200 }
  | { valid: true; status: 'insufficient_scope'; httpStatus: 403; message: string }
  | { valid: false; status: 'invalid'; httpStatus: 401; message: string }
  | { valid: false; status: 'malformed'; httpStatus: null; message: string }

/** GET /api/v1/workflows?limit=1 with the key: 200 valid, 401 invalid, 403 valid but lacking workflow:list. */
export async function verifyN8nKey(target: ServiceTarget, key: string): Promise<N8nVerifyResult> {
  if (!TOKEN_SHAPE.test(key)) return { valid: false, status: 'malformed', httpStatus: null, message: 'not an API key (printable ASCII, no blanks)' }
  const res = await callService(target, 'GET', '/api/v1/workflows?limit=1', { headers: { 'x-n8n-api-key': key } })
  if (res.status === 200) {
    parseBody(target, 'the workflow list', res, z.object({ data: z.array(z.unknown()) }).loose())
    return { valid: true, status: 'valid', httpStatus: 200 }
  }
  if (res.status === 401) return { valid: false, status: 'invalid', httpStatus: 401, message: serviceMessage(res) ?? 'unauthorized' }
  if (res.status === 403) return { valid: true, status: 'insufficient_scope', httpStatus: 403, message: serviceMessage(res) ?? 'forbidden' }
  if (res.status === 404) {
    throw new ExternalServiceError(`n8n at ${target.url} has no public API (404 on /api/v1/workflows)`, {
      code: 'SERVICE_PUBLIC_API_DISABLED',
      status: 404,
      hint: 'Enable the public API on the n8n server (unset N8N_PUBLIC_API_DISABLED), or check N8N_URL',
    })
  }
  throw unexpectedStatus(target, 'the key check', res)
}
