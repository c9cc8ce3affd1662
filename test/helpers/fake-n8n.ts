// An n8n that follows docs/integrations.md: /rest/login with emailOrLdapLoginId and an
// n8n-auth cookie (Secure), 401 without a session, {data: …} bodies, expiresAt required and in
// the future, scopes per role, list without rawApiKey, delete 200 even for unknown ids,
// public-API verify 200/401/403, and a disabled public API (404 with an empty body).
import { randomBytes } from 'node:crypto'

import type { FakeServer } from './fake-http.js'
import { send, startFake } from './fake-http.js'

export const OWNER_SCOPES = ['workflow:create', 'workflow:read', 'workflow:update', 'workflow:delete', 'workflow:list', 'workflow:move', 'tag:read', 'tag:list', 'user:read', 'user:list', 'credential:create']
export const MEMBER_SCOPES = ['workflow:read', 'workflow:list', 'tag:read', 'tag:list']

export interface FakeN8nKey {
  id: string
  label: string
  rawApiKey: string
  userId: string
  scopes: string[]
  createdAt: string
  expiresAt: number | null
}

export interface FakeN8n extends FakeServer {
  keys: FakeN8nKey[]
  publicApiDisabled: boolean
  /** Answer the list as {data: {items: […]}} (newer builds) instead of a bare array. */
  pagedList: boolean
  /** Enforce key scopes on the public API (licensed instances do). */
  enforceScopes: boolean
  /** Answer DELETE with success without deleting (to test the re-list check). */
  ignoreDeletes: boolean
  /** With pagedList: send only this many keys per answer, with the full count. */
  pageSize: number | undefined
  /** Answer the login with `{data: {}}` (no id, no e-mail), as a build might. */
  loginWithoutUser: boolean
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')

export async function startFakeN8n(users = [{ id: 'u1', email: 'owner@example.com', password: 'Owner-pw1', role: 'global:owner' }, { id: 'u2', email: 'member@example.com', password: 'Member-pw1', role: 'global:member' }]): Promise<FakeN8n> {
  const sessions = new Map<string, (typeof users)[number]>()
  const keys: FakeN8nKey[] = []
  const view = (k: FakeN8nKey) => ({ id: k.id, label: k.label, apiKey: `******${k.rawApiKey.slice(-4)}`, userId: k.userId, scopes: k.scopes, createdAt: k.createdAt, updatedAt: k.createdAt, expiresAt: k.expiresAt })

  const fake = (await startFake((req, res) => {
    const url = new URL(req.url, 'http://x')
    const json = () => {
      try {
        return JSON.parse(req.body || '{}')
      } catch {
        return {}
      }
    }
    if (url.pathname === '/rest/login' && req.method === 'POST') {
      const body = json()
      if (typeof body.emailOrLdapLoginId !== 'string') {
        return send(res, 400, { code: 'invalid_type', expected: 'string', received: 'undefined', path: ['emailOrLdapLoginId'], message: 'Required' })
      }
      const user = users.find((u) => u.email === body.emailOrLdapLoginId && u.password === body.password)
      if (!user) return send(res, 401, { code: 401, message: 'Wrong username or password. Do you have caps lock on?', stacktrace: 'ResponseError: Wrong username or password.' })
      const jwt = `${b64({ alg: 'HS256' })}.${b64({ id: user.id, hash: randomBytes(6).toString('hex') })}.${randomBytes(16).toString('base64url')}`
      sessions.set(jwt, user)
      return send(res, 200, { data: fake.loginWithoutUser ? {} : { id: user.id, email: user.email, role: user.role } }, { 'set-cookie': [`n8n-auth=${jwt}; Max-Age=604800; Path=/; HttpOnly; Secure; SameSite=Lax`] })
    }

    if (url.pathname.startsWith('/rest/api-keys')) {
      if (fake.publicApiDisabled) {
        res.statusCode = 404
        return void res.end()
      }
      const cookie = /(?:^|;\s*)n8n-auth=([^;]+)/.exec(String(req.headers.cookie ?? ''))?.[1]
      const user = cookie ? sessions.get(cookie) : undefined
      if (!user) return send(res, 401, { status: 'error', message: 'Unauthorized' })
      const allowed = user.role === 'global:owner' ? OWNER_SCOPES : MEMBER_SCOPES
      if (url.pathname === '/rest/api-keys/scopes' && req.method === 'GET') return send(res, 200, { data: allowed })
      if (url.pathname === '/rest/api-keys' && req.method === 'GET') {
        const mine = keys.filter((k) => k.userId === user.id).map(view)
        return send(res, 200, { data: fake.pagedList ? { items: mine.slice(0, fake.pageSize ?? mine.length), count: mine.length } : mine })
      }
      if (url.pathname === '/rest/api-keys' && req.method === 'POST') {
        const body = json()
        if (typeof body.label !== 'string' || body.label.length < 1 || body.label.length > 50) return send(res, 400, { code: 400, message: 'label: String must contain at most 50 character(s)' })
        if (!Array.isArray(body.scopes) || body.scopes.length === 0) return send(res, 400, { code: 400, message: 'scopes: Array must contain at least 1 element(s)' })
        if (!('expiresAt' in body)) return send(res, 400, { code: 'invalid_type', expected: 'number', received: 'undefined', path: ['expiresAt'], message: 'Required' })
        if (body.expiresAt !== null && (typeof body.expiresAt !== 'number' || body.expiresAt <= Date.now() / 1000)) return send(res, 400, { code: 400, message: 'Expiration date must be in the future or null' })
        if (body.scopes.some((s: string) => !allowed.includes(s))) return send(res, 400, { code: 400, message: 'Invalid scopes for user role', stacktrace: 'ResponseError: Invalid scopes for user role' })
        // n8n 1.123: UNIQUE(userId, label) surfaces as a 500 (seen on a real n8n 1.123.81).
        if (keys.some((k) => k.userId === user.id && k.label === body.label)) {
          return send(res, 500, { code: 0, message: 'There is already an entry with this name', stacktrace: 'QueryFailedError: SQLITE_CONSTRAINT: UNIQUE constraint failed' })
        }
        const id = randomBytes(12).toString('base64url').replace(/[-_]/g, 'x').slice(0, 16)
        const exp = body.expiresAt as number | null
        const rawApiKey = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: user.id, iss: 'n8n', aud: 'public-api', jti: id, ...(exp ? { exp } : {}) })}.${randomBytes(24).toString('base64url')}`
        const key = { id, label: body.label, rawApiKey, userId: user.id, scopes: body.scopes, createdAt: new Date().toISOString(), expiresAt: exp }
        keys.push(key)
        return send(res, 200, { data: { ...view(key), rawApiKey } })
      }
      const del = /^\/rest\/api-keys\/([^/]+)$/.exec(url.pathname)
      if (del && req.method === 'DELETE') {
        const i = keys.findIndex((k) => k.id === decodeURIComponent(del[1]!) && k.userId === user.id)
        if (i >= 0 && !fake.ignoreDeletes) keys.splice(i, 1)
        return send(res, 200, { data: { success: true } })
      }
      return send(res, 404, { code: 404, message: 'not found' })
    }

    if (url.pathname === '/api/v1/workflows' && req.method === 'GET') {
      if (fake.publicApiDisabled) return send(res, 404, { message: 'not found' })
      const header = req.headers['x-n8n-api-key']
      if (!header) return send(res, 401, { message: "'X-N8N-API-KEY' header required" })
      const key = keys.find((k) => k.rawApiKey === header)
      if (!key || (key.expiresAt !== null && key.expiresAt <= Date.now() / 1000)) return send(res, 401, { message: 'unauthorized' })
      if (fake.enforceScopes && !key.scopes.includes('workflow:list')) return send(res, 403, { message: 'Forbidden' })
      return send(res, 200, { data: [], nextCursor: null })
    }
    return send(res, 404, { code: 404, message: 'not found' })
  })) as FakeN8n
  fake.keys = keys
  fake.publicApiDisabled = false
  fake.pagedList = false
  fake.enforceScopes = false
  fake.ignoreDeletes = false
  fake.pageSize = undefined
  fake.loginWithoutUser = false
  return fake
}
