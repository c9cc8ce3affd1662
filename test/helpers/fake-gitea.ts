// A Gitea that follows docs/integrations.md: Basic auth with a real password on the
// token endpoints (token auth → 401), Sudo for admins, 403 when not self or admin, scope
// validation and normalisation, pages with X-Total-Count, delete by numeric id, /api/v1/user.
import { randomBytes } from 'node:crypto'

import type { FakeServer, SeenRequest } from './fake-http.js'
import { send, startFake } from './fake-http.js'

const CATEGORIES = ['activitypub', 'admin', 'misc', 'notification', 'organization', 'package', 'issue', 'repository', 'user']
const VALID = new Set(['all', 'public-only', ...CATEGORIES.flatMap((c) => [`read:${c}`, `write:${c}`])])

export interface FakeUser {
  login: string
  password: string
  admin: boolean
  mustChangePassword?: boolean
}

export interface FakeToken {
  id: number
  user: string
  name: string
  sha1: string
  scopes: string[]
}

export interface FakeGitea extends FakeServer {
  users: Map<string, FakeUser>
  tokens: FakeToken[]
  /** Add a token directly (as if made in the Gitea UI). */
  addToken(user: string, name: string, scopes: string[]): FakeToken
}

/** Gitea's normalisation: write implies read, a full write set is `all`, sorted. */
export function normaliseScopes(scopes: string[]): string[] {
  const set = new Set(scopes)
  if (set.has('all') || CATEGORIES.every((c) => set.has(`write:${c}`))) return set.has('public-only') ? ['all', 'public-only'] : ['all']
  for (const c of CATEGORIES) if (set.has(`write:${c}`)) set.delete(`read:${c}`)
  return [...set].sort()
}

export async function startFakeGitea(users: FakeUser[] = [{ login: 'admin', password: 'admin-pw', admin: true }, { login: 'alice', password: 'alice-pw', admin: false }]): Promise<FakeGitea> {
  const byLogin = new Map(users.map((u) => [u.login.toLowerCase(), u]))
  const tokens: FakeToken[] = []
  let nextId = 1
  const mint = (user: string, name: string, scopes: string[]): FakeToken => {
    const t = { id: nextId++, user, name, sha1: randomBytes(20).toString('hex'), scopes: normaliseScopes(scopes) }
    tokens.push(t)
    return t
  }
  const view = (t: FakeToken) => ({ id: t.id, name: t.name, sha1: '', token_last_eight: t.sha1.slice(-8), scopes: t.scopes })

  type Auth = { kind: 'basic'; user: FakeUser } | { kind: 'token'; user: FakeUser; token: FakeToken } | { kind: 'none' } | { kind: 'bad' }
  const authOf = (req: SeenRequest): Auth => {
    const h = String(req.headers.authorization ?? '')
    if (h.startsWith('Basic ')) {
      const [login, ...rest] = Buffer.from(h.slice(6), 'base64').toString('utf8').split(':')
      const user = byLogin.get(String(login).toLowerCase())
      return user && user.password === rest.join(':') ? { kind: 'basic', user } : { kind: 'bad' }
    }
    if (/^token /i.test(h)) {
      const token = tokens.find((t) => t.sha1 === h.slice(6).trim())
      const user = token && byLogin.get(token.user.toLowerCase())
      return token && user ? { kind: 'token', user, token } : { kind: 'bad' }
    }
    return { kind: 'none' }
  }

  const fake = (await startFake((req, res) => {
    const url = new URL(req.url, 'http://x')
    if (url.searchParams.has('token') || url.searchParams.has('access_token')) return send(res, 400, { message: 'token in query string' })
    const auth = authOf(req)
    if (auth.kind === 'bad') return send(res, 401, { message: 'user does not exist [uid: 0, name: ]', url: `${fake.url}/api/swagger` })

    if (url.pathname === '/api/v1/user' && req.method === 'GET') {
      if (auth.kind === 'none') return send(res, 401, { message: 'token is required', url: `${fake.url}/api/swagger` })
      if (auth.user.mustChangePassword) return send(res, 403, { message: 'You must change your password. Change it at: /user/change_password' })
      if (auth.kind === 'token' && !auth.token.scopes.some((s) => ['all', 'read:user', 'write:user'].includes(s))) {
        return send(res, 403, { message: `token does not have at least one of required scope(s), required=[read:user], token scope=${auth.token.scopes.join(',')}`, url: `${fake.url}/api/swagger` })
      }
      return send(res, 200, { id: 1, login: auth.user.login, email: `${auth.user.login}@example.com`, is_admin: auth.user.admin })
    }

    const m = /^\/api\/v1\/users\/([^/]+)\/tokens(?:\/([^/]+))?$/.exec(url.pathname)
    if (!m) return send(res, 404, { message: 'not found' })
    const owner = byLogin.get(decodeURIComponent(m[1]!).toLowerCase())
    if (!owner) return send(res, 404, { errors: ['user redirect does not exist'], message: 'The target couldn\'t be found.' })
    // Token endpoints need Basic auth with a real password.
    if (auth.kind !== 'basic') return send(res, 401, { message: 'auth required', url: `${fake.url}/api/swagger` })
    let doer = auth.user
    const sudo = req.headers.sudo
    if (sudo) {
      if (!doer.admin) return send(res, 403, { message: 'Only administrators allowed to sudo.' })
      const target = byLogin.get(String(sudo).toLowerCase())
      if (!target) return send(res, 404, { message: 'sudo user does not exist' })
      doer = target
    }
    if (doer.mustChangePassword) return send(res, 403, { message: 'You must change your password. Change it at: /user/change_password' })
    if (!doer.admin && doer.login.toLowerCase() !== owner.login.toLowerCase()) return send(res, 403, { message: 'doer should be the site admin or the same user' })
    const own = tokens.filter((t) => t.user.toLowerCase() === owner.login.toLowerCase())

    if (!m[2] && req.method === 'POST') {
      let body: { name?: unknown; scopes?: unknown }
      try {
        body = JSON.parse(req.body)
      } catch {
        return send(res, 422, [{ fieldNames: ['Name'], classification: 'RequiredError', message: 'Required' }])
      }
      if (typeof body.name !== 'string' || body.name === '') return send(res, 422, [{ fieldNames: ['Name'], classification: 'RequiredError', message: 'Required' }])
      const scopes = Array.isArray(body.scopes) ? body.scopes.map(String) : []
      if (own.some((t) => t.name === body.name)) return send(res, 400, { message: 'access token name has been used already', url: `${fake.url}/api/swagger` })
      const bad = scopes.filter((s) => !VALID.has(s))
      if (bad.length) return send(res, 400, { message: `invalid access token scope provided: access token scope "${bad[0]}" is not valid`, url: `${fake.url}/api/swagger` })
      if (scopes.length === 0) return send(res, 400, { message: 'access token must have a scope', url: `${fake.url}/api/swagger` })
      const t = mint(owner.login, body.name, scopes)
      return send(res, 201, { id: t.id, name: t.name, sha1: t.sha1, token_last_eight: t.sha1.slice(-8), scopes: t.scopes })
    }
    if (!m[2] && req.method === 'GET') {
      const limit = Math.min(Number(url.searchParams.get('limit') ?? 50) || 50, 50)
      const page = Math.max(Number(url.searchParams.get('page') ?? 1) || 1, 1)
      const sorted = [...own].sort((a, b) => b.id - a.id)
      return send(res, 200, sorted.slice((page - 1) * limit, page * limit).map(view), { 'x-total-count': String(sorted.length) })
    }
    if (m[2] && req.method === 'DELETE') {
      const key = decodeURIComponent(m[2])
      const asId = Number.parseInt(key)
      let matches = Number.isNaN(asId) ? [] : own.filter((t) => t.id === asId)
      if (matches.length === 0) matches = own.filter((t) => t.name === key)
      if (matches.length > 1) return send(res, 422, { message: 'multiple matches for token name' })
      if (matches.length === 0) return send(res, 404, { message: 'The target couldn\'t be found.' })
      tokens.splice(tokens.indexOf(matches[0]!), 1)
      return send(res, 204)
    }
    return send(res, 405, { message: 'method not allowed' })
  })) as FakeGitea
  fake.users = byLogin
  fake.tokens = tokens
  fake.addToken = mint
  return fake
}
