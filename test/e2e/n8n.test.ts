import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { expect } from 'chai'

import { expectJsonError, expectOneLineError } from '../helpers/assert.js'
import { runCli, runJson } from '../helpers/cli.js'
import { auditRows, openTestSql, testDatabaseUrl, truncateAll } from '../helpers/db.js'
import type { FakeN8n } from '../helpers/fake-n8n.js'
import { startFakeN8n } from '../helpers/fake-n8n.js'

describe('n8n commands against a fake n8n (integrations.md contract)', function () {
  this.timeout(60_000)
  const sql = openTestSql()
  let n8n: FakeN8n
  let dataDir: string
  let env: Record<string, string>

  beforeEach(async () => {
    await truncateAll(sql)
    n8n = await startFakeN8n()
    dataDir = mkdtempSync(join(tmpdir(), 'momentry-n8n-'))
    env = { N8N_URL: n8n.url, N8N_EMAIL: 'owner@example.com', N8N_PASSWORD: 'Owner-pw1', MOMENTRY_DATA_DIR: dataDir, MOMENTRY_HTTP_TIMEOUT_SECONDS: '1' }
  })
  afterEach(async () => {
    await n8n.close()
    rmSync(dataDir, { recursive: true, force: true })
  })
  after(() => sql.end())

  it('given owner credentials, when `n8n create` runs, then it logs in with both login fields, carries the cookie itself, sends expiresAt, prints rawApiKey once and stores only last4', async () => {
    const r = await runJson(['n8n', 'create', '--label', 'ci', '--scopes', 'workflow:read,workflow:list', '--expires-in', '90d'], { env })
    expect(r.code, r.stderr).to.equal(0)
    const key = n8n.keys[0]!
    expect(r.json.secret).to.equal(key.rawApiKey)
    expect(r.json.key).to.include({ id: key.id, label: 'ci', last4: key.rawApiKey.slice(-4), tracked: true })
    expect(Math.abs(Date.parse(r.json.key.expiresAt) - (Date.now() + 90 * 86_400_000))).to.be.below(60_000)

    const login = n8n.seen.find((s) => s.url === '/rest/login')!
    expect(JSON.parse(login.body)).to.include({ emailOrLdapLoginId: 'owner@example.com', email: 'owner@example.com' })
    for (const s of n8n.seen) expect(s.headers['browser-id']).to.equal(undefined)
    const post = n8n.seen.find((s) => s.method === 'POST' && s.url === '/rest/api-keys')!
    expect(String(post.headers.cookie)).to.match(/^n8n-auth=[^;]+$/)
    expect(JSON.parse(post.body)).to.have.property('expiresAt').that.is.a('number')

    const [row] = await sql`select n8n_key_id, label, last4, n8n_url, expires_at from n8n_api_keys`
    expect(row).to.include({ n8n_key_id: key.id, label: 'ci', last4: key.rawApiKey.slice(-4), n8n_url: n8n.url })
    const [audit] = await auditRows(sql)
    expect(audit!.action).to.equal('n8n.key.create')
    expect(JSON.stringify(audit!.details)).not.to.include(key.rawApiKey)

    const noExpiry = await runCli(['n8n', 'create', '--label', 'forever', '--scopes', 'workflow:read'], { env })
    expect(noExpiry.code).to.equal(0)
    expect(noExpiry.stdout.trim()).to.equal(n8n.keys[1]!.rawApiKey)
    const second = n8n.seen.filter((s) => s.method === 'POST' && s.url === '/rest/api-keys')[1]!
    expect(JSON.parse(second.body)).to.have.property('expiresAt', null) // present, null
  })

  it('given a scope outside the member role, when `n8n create` runs as a member, then it is exit 2 naming the scope and the allowed ones, and no key is made', async () => {
    const r = await runCli(['n8n', 'create', '--label', 'x', '--scopes', 'workflow:read,user:list'], { env: { ...env, N8N_EMAIL: 'member@example.com', N8N_PASSWORD: 'Member-pw1' } })
    expectOneLineError(r, 2, /n8n does not allow "user:list".*Allowed: workflow:read/)
    expect(n8n.keys).to.have.length(0)
    const label = await runCli(['n8n', 'create', '--label', 'x'.repeat(51), '--scopes', 'workflow:read'], { env })
    expectOneLineError(label, 2, /^Error: --label must be at most 50 characters/)
    const shape = await runCli(['n8n', 'create', '--label', 'x', '--scopes', 'workflows'], { env })
    expectOneLineError(shape, 2, /resource:action/)
  })

  it('given a wrong password, when any n8n command runs, then it exits 7 with the 401 kept and `auth login n8n` named', async () => {
    const r = await runJson(['n8n', 'list'], { env: { ...env, N8N_PASSWORD: 'nope' } })
    expectJsonError(r, 7, 'SERVICE_AUTH_FAILED')
    expect(r.json.error.status).to.equal(401)
    expect(r.json.error.message).to.match(/refused the password for owner@example.com.*momentry auth login n8n/)
  })

  it('given keys made in n8n and through momentry, one deleted in n8n, when `n8n list` runs, then it flags drift both ways and never shows rawApiKey; the paged {items} shape works too', async () => {
    const a = await runJson(['n8n', 'create', '--label', 'a', '--scopes', 'workflow:read'], { env })
    const b = await runJson(['n8n', 'create', '--label', 'b', '--scopes', 'workflow:read'], { env })
    n8n.keys.splice(n8n.keys.findIndex((k) => k.id === b.json.key.id), 1)
    n8n.keys.push({ id: 'UiMadeKey0000001', label: 'from-ui', rawApiKey: 'x'.repeat(40) + 'wxyz', userId: 'u1', scopes: ['workflow:list'], createdAt: new Date().toISOString(), expiresAt: null })
    for (const paged of [false, true]) {
      n8n.pagedList = paged
      const r = await runJson(['n8n', 'list'], { env })
      expect(r.code, r.stderr).to.equal(0)
      expect(r.json.drift).to.deep.equal({ gone: 1, untracked: 1 })
      expect(r.json.items.find((k: any) => k.id === a.json.key.id)).to.include({ drift: null, onServer: true })
      expect(r.json.items.find((k: any) => k.id === b.json.key.id)).to.include({ drift: 'gone', onServer: false })
      expect(r.json.items.find((k: any) => k.id === 'UiMadeKey0000001')).to.include({ drift: 'untracked', last4: 'wxyz' })
      expect(r.stdout).not.to.include(a.json.secret)
    }
  })

  it('given a key, when `n8n delete` runs, then it re-lists to confirm, marks the record deleted and audits; an unknown id is exit 5 without a DELETE', async () => {
    const a = await runJson(['n8n', 'create', '--label', 'a', '--scopes', 'workflow:read'], { env })
    const r = await runJson(['n8n', 'delete', a.json.key.id], { env })
    expect(r.code, r.stderr).to.equal(0)
    expect(r.json).to.deep.equal({ id: a.json.key.id, label: 'a', tracked: true, confirmed: true })
    expect(n8n.keys).to.have.length(0)
    expect((await sql`select deleted_at from n8n_api_keys`)[0]!.deleted_at).to.be.instanceOf(Date)
    expect((await sql`select action from api_key_audit_log order by seq`).map((x) => x.action)).to.deep.equal(['n8n.key.create', 'n8n.key.delete'])

    const deletes = n8n.seen.filter((s) => s.method === 'DELETE').length
    const unknown = await runJson(['n8n', 'delete', 'NoSuchKey123'], { env })
    expectJsonError(unknown, 5, 'NOT_FOUND')
    expect(n8n.seen.filter((s) => s.method === 'DELETE').length).to.equal(deletes)

    expectOneLineError(await runCli(['n8n', 'delete', 'bad id!'], { env }), 2, /not an n8n API key id/)
  })

  it('given n8n says 200 to a delete but keeps the key, when `n8n delete` runs, then it says so (exit 7) and keeps tracking the key', async () => {
    const a = await runJson(['n8n', 'create', '--label', 'a', '--scopes', 'workflow:read'], { env })
    n8n.ignoreDeletes = true
    const r = await runJson(['n8n', 'delete', a.json.key.id], { env })
    expectJsonError(r, 7)
    expect(r.json.error.message).to.match(/still lists the key/)
    expect((await sql`select deleted_at from n8n_api_keys`)[0]!.deleted_at).to.equal(null)
  })

  it('given keys, when `n8n verify` runs, then 200 → valid (0), 401 → invalid (3), 403 where scopes are enforced → lacks scope (3)', async () => {
    const list = await runJson(['n8n', 'create', '--label', 'l', '--scopes', 'workflow:list'], { env })
    const read = await runJson(['n8n', 'create', '--label', 'r', '--scopes', 'workflow:read'], { env })
    const ok = await runJson(['n8n', 'verify'], { env, input: `${list.json.secret}\n` })
    expect(ok.code).to.equal(0)
    expect(ok.json).to.deep.include({ valid: true, status: 'valid', httpStatus: 200 })
    const call = n8n.seen.at(-1)!
    expect(call.url).to.equal('/api/v1/workflows?limit=1')
    expect(call.headers['x-n8n-api-key']).to.equal(list.json.secret)

    const bad = await runJson(['n8n', 'verify', '--token-env', 'K'], { env: { ...env, K: 'not-a-key' } })
    expect(bad.code).to.equal(3)
    expect(bad.json).to.include({ valid: false, status: 'invalid', httpStatus: 401 })

    n8n.enforceScopes = true
    const scoped = await runJson(['n8n', 'verify'], { env, input: read.json.secret })
    expect(scoped.code).to.equal(0)
    expect(scoped.json).to.include({ valid: true, status: 'insufficient_scope', httpStatus: 403 })
  })

  it('given a tracked key with a lifetime, when `n8n rotate` runs, then the new key (same label, scopes, lifetime) exists before the old is deleted', async () => {
    const a = await runJson(['n8n', 'create', '--label', 'ci', '--scopes', 'workflow:read,workflow:list', '--expires-in', '30d'], { env })
    const r = await runJson(['n8n', 'rotate', a.json.key.id], { env })
    expect(r.code, r.stderr).to.equal(0)
    expect(r.json.key.label).to.match(/^ci-rot-\d{8}T\d{6}Z$/) // labels are unique per user in n8n
    expect(r.json.key.scopes).to.deep.equal(['workflow:read', 'workflow:list'])
    expect(Math.abs(Date.parse(r.json.key.expiresAt) - Date.parse(a.json.key.expiresAt))).to.be.below(60_000)
    expect(r.json.previous).to.deep.equal({ id: a.json.key.id, deleted: true })
    expect(n8n.keys.map((k) => k.rawApiKey)).to.deep.equal([r.json.secret])
    const order = n8n.seen.filter((s) => s.method !== 'GET' && s.url !== '/rest/login').map((s) => s.method)
    expect(order).to.deep.equal(['POST', 'POST', 'DELETE'])
  })

  it('given a tracked key that is not among the logged-in user’s keys, when `n8n rotate` runs, then not found (exit 5) and nothing is created', async () => {
    const a = await runJson(['n8n', 'create', '--label', 'elsewhere', '--scopes', 'workflow:read'], { env })
    n8n.keys.splice(0, n8n.keys.length) // deleted in n8n, or another user's: n8n lists only the session user's keys
    const r = await runJson(['n8n', 'rotate', a.json.key.id], { env })
    expectJsonError(r, 5, 'NOT_FOUND')
    expect(r.json.error.message).to.match(/is not among the keys of/)
    expect(n8n.keys).to.have.length(0)
    expect(n8n.seen.filter((s) => s.method === 'POST' && s.url === '/rest/api-keys')).to.have.length(1) // only the original create
    const [row] = await sql`select deleted_at from n8n_api_keys where n8n_key_id = ${a.json.key.id}`
    expect(row!.deleted_at).to.equal(null)
  })

  it('given keys of two n8n users, when the member lists, deletes or rotates the owner’s key, then it is shown as another user’s without a verdict, and delete and rotate are exit 5 naming its owner with nothing sent', async () => {
    const memberEnv = { ...env, N8N_EMAIL: 'member@example.com', N8N_PASSWORD: 'Member-pw1' }
    const own = await runJson(['n8n', 'create', '--label', 'owner-key', '--scopes', 'workflow:read'], { env })
    const mine = await runJson(['n8n', 'create', '--label', 'member-key', '--scopes', 'workflow:read'], { env: memberEnv })
    expect(own.json.key).to.include({ owner: 'owner@example.com' })
    expect((await sql`select n8n_user_id, n8n_user from n8n_api_keys where n8n_key_id = ${mine.json.key.id}`)[0]).to.deep.equal({ n8n_user_id: 'u2', n8n_user: 'member@example.com' })

    const list = await runJson(['n8n', 'list'], { env: memberEnv })
    expect(list.code, list.stderr).to.equal(0)
    expect(list.json).to.include({ user: 'member@example.com', otherUsers: 1 })
    expect(list.json.drift).to.deep.equal({ gone: 0, untracked: 0 })
    expect(list.json.items.find((k: any) => k.id === own.json.key.id)).to.include({ owner: 'owner@example.com', onServer: null, drift: null })
    expect(list.json.items.find((k: any) => k.id === mine.json.key.id)).to.include({ owner: 'member@example.com', onServer: true, drift: null })
    const table = await runCli(['n8n', 'list'], { env: memberEnv })
    expect(table.stdout + table.stderr).to.match(/other user/).and.to.match(/1 of other n8n users/)

    const writes = () => n8n.seen.filter((x) => x.method !== 'GET' && x.url !== '/rest/login').length
    const before = writes()
    for (const verb of ['delete', 'rotate']) {
      const r = await runJson(['n8n', verb, own.json.key.id], { env: memberEnv })
      expectJsonError(r, 5, 'NOT_FOUND')
      expect(r.json.error.message).to.match(/belongs to the n8n user owner@example\.com, not member@example\.com/)
    }
    expect(writes()).to.equal(before)
    expect(n8n.keys).to.have.length(2)
    expect((await sql`select count(*)::int as n from n8n_api_keys where deleted_at is null`)[0]!.n).to.equal(2)
  })

  it('given a tracked key deleted in n8n, when its owner runs `n8n delete`, then momentry stops tracking it (exit 0, audited) and the drift clears; a row without a recorded owner stays exit 5', async () => {
    const a = await runJson(['n8n', 'create', '--label', 'gone-in-ui', '--scopes', 'workflow:read'], { env })
    n8n.keys.splice(0, n8n.keys.length)
    expect((await runJson(['n8n', 'list'], { env })).json.drift).to.deep.equal({ gone: 1, untracked: 0 })
    const r = await runJson(['n8n', 'delete', a.json.key.id], { env })
    expect(r.code, r.stderr).to.equal(0)
    expect(r.json).to.deep.equal({ id: a.json.key.id, label: 'gone-in-ui', tracked: true, confirmed: true, alreadyGone: true })
    expect(n8n.seen.filter((x) => x.method === 'DELETE')).to.have.length(0)
    const [audit] = await auditRows(sql, { action: 'n8n.key.delete' })
    expect(audit!.details).to.include({ n8nKeyId: a.json.key.id, alreadyGone: true })
    const after = await runJson(['n8n', 'list'], { env })
    expect(after.json.drift).to.deep.equal({ gone: 0, untracked: 0 })
    expect(after.json.items).to.have.length(0)
    expectOneLineError(await runCli(['n8n', 'delete', a.json.key.id], { env }), 5, /n8n has no API key/)

    // Recorded before owners were kept: it may be another user's, so nothing is assumed.
    const b = await runJson(['n8n', 'create', '--label', 'legacy', '--scopes', 'workflow:read'], { env })
    await sql`update n8n_api_keys set n8n_user_id = null, n8n_user = null where n8n_key_id = ${b.json.key.id}`
    n8n.keys.splice(0, n8n.keys.length)
    expect((await runJson(['n8n', 'list'], { env })).json.items[0]).to.include({ owner: null, drift: 'gone' })
    const legacy = await runJson(['n8n', 'delete', b.json.key.id], { env })
    expectJsonError(legacy, 5, 'NOT_FOUND')
    expect(legacy.json.error.message).to.match(/deleted in n8n, or is another user's/)
  })

  it('given a login answer without the user’s id, when the member lists, deletes or rotates the owner’s key, then ownership is decided by e-mail (case-insensitively) and nothing is sent', async () => {
    const own = await runJson(['n8n', 'create', '--label', 'owner-key', '--scopes', 'workflow:read'], { env })
    n8n.loginWithoutUser = true
    const memberEnv = { ...env, N8N_EMAIL: 'member@example.com', N8N_PASSWORD: 'Member-pw1' }
    const list = await runJson(['n8n', 'list'], { env: memberEnv })
    expect(list.json).to.include({ otherUsers: 1 })
    expect(list.json.items[0]).to.include({ id: own.json.key.id, onServer: null, drift: null })
    const deletes = n8n.seen.filter((x) => x.method === 'DELETE').length
    const r = await runJson(['n8n', 'delete', own.json.key.id], { env: memberEnv })
    expectJsonError(r, 5, 'NOT_FOUND')
    expect(r.json.error.message).to.match(/belongs to the n8n user owner@example\.com/)
    expect(n8n.seen.filter((x) => x.method === 'DELETE').length).to.equal(deletes)

    // The owner, recorded in another case and without an id, is still the owner.
    await sql`update n8n_api_keys set n8n_user = 'OWNER@Example.com', n8n_user_id = null`
    n8n.keys.splice(0, n8n.keys.length)
    const gone = await runJson(['n8n', 'delete', own.json.key.id], { env })
    expect(gone.code, gone.stderr).to.equal(0)
    expect(gone.json).to.include({ alreadyGone: true })
  })

  it('given a record with an outdated or missing owner, when the owner lists, then n8n’s list decides and corrects it, and rotate works', async () => {
    const a = await runJson(['n8n', 'create', '--label', 'renamed', '--scopes', 'workflow:read'], { env })
    const b = await runJson(['n8n', 'create', '--label', 'legacy', '--scopes', 'workflow:read'], { env })
    await sql`update n8n_api_keys set n8n_user = 'old-address@example.com', n8n_user_id = null where n8n_key_id = ${a.json.key.id}`
    await sql`update n8n_api_keys set n8n_user = null, n8n_user_id = null where n8n_key_id = ${b.json.key.id}`
    const rotated = await runJson(['n8n', 'rotate', a.json.key.id], { env })
    expect(rotated.code, rotated.stderr).to.equal(0)
    expect(rotated.json.previous).to.deep.equal({ id: a.json.key.id, deleted: true })

    const list = await runJson(['n8n', 'list'], { env })
    expect(list.json).to.include({ otherUsers: 0, complete: true })
    expect(list.json.items.find((k: any) => k.id === b.json.key.id)).to.include({ owner: 'owner@example.com', onServer: true })
    expect((await sql`select n8n_user, n8n_user_id from n8n_api_keys where n8n_key_id = ${b.json.key.id}`)[0]).to.deep.equal({ n8n_user: 'owner@example.com', n8n_user_id: 'u1' })
  })

  it('given n8n sends only a page of the key list, when a tracked key is not on it, then nothing is called gone and delete or rotate of it is exit 7 with nothing changed', async () => {
    const a = await runJson(['n8n', 'create', '--label', 'first', '--scopes', 'workflow:read'], { env })
    const b = await runJson(['n8n', 'create', '--label', 'second', '--scopes', 'workflow:read'], { env })
    n8n.pagedList = true
    n8n.pageSize = 1 // the fake keeps creation order: only `first` is sent
    const list = await runJson(['n8n', 'list'], { env })
    expect(list.json).to.include({ complete: false })
    expect(list.json.drift).to.deep.equal({ gone: 0, untracked: 0 })
    expect(list.json.items.find((k: any) => k.id === b.json.key.id)).to.include({ onServer: null, drift: null })
    const table = await runCli(['n8n', 'list'], { env })
    expect(table.stdout + table.stderr).to.match(/only part of its list/)
    for (const verb of ['delete', 'rotate']) {
      const r = await runJson(['n8n', verb, b.json.key.id], { env })
      expectJsonError(r, 7)
      expect(r.json.error.message).to.match(/only part of owner@example\.com's key list/)
    }
    expect(n8n.keys.map((k) => k.id)).to.deep.equal([a.json.key.id, b.json.key.id])
    expect((await sql`select count(*)::int as n from n8n_api_keys where deleted_at is null`)[0]!.n).to.equal(2)
  })

  it('given a label the user already has, when `n8n create` runs, then it is a conflict (exit 6) before any create; n8n’s own 500 for it is a conflict too', async () => {
    await runJson(['n8n', 'create', '--label', 'ci', '--scopes', 'workflow:read'], { env })
    const r = await runJson(['n8n', 'create', '--label', 'ci', '--scopes', 'workflow:read'], { env })
    expectJsonError(r, 6, 'CONFLICT')
    expect(r.json.error.message).to.match(/already has an API key labelled ci/)
    expect(n8n.seen.filter((s) => s.method === 'POST' && s.url === '/rest/api-keys')).to.have.length(1)
  })

  it('given the public API disabled, when keys are listed or created, then the empty 404 is named as such (exit 7)', async () => {
    n8n.publicApiDisabled = true
    const r = await runJson(['n8n', 'list'], { env })
    expectJsonError(r, 7, 'SERVICE_PUBLIC_API_DISABLED')
    expect(r.json.error.status).to.equal(404)
    expect(r.json.error.message).to.match(/public API is disabled.*N8N_PUBLIC_API_DISABLED/)
    const c = await runCli(['n8n', 'create', '--label', 'x', '--scopes', 'workflow:read'], { env })
    expectOneLineError(c, 7, /public API is disabled/)
  })

  it('given n8n failing with 500, HTML, or hanging, then each is one line and exit 7', async () => {
    n8n.fault = '500'
    const r = await runJson(['n8n', 'list'], { env })
    expectJsonError(r, 7, 'SERVICE_ERROR')
    expect(r.json.error.status).to.equal(500)
    n8n.fault = 'html'
    expectOneLineError(await runCli(['n8n', 'list'], { env }), 7, /not JSON/)
    n8n.fault = 'hang'
    expectOneLineError(await runCli(['n8n', 'list'], { env }), 7, /did not answer within 1 s/)
  })

  it('given keys created and rotated, when the database is dumped, then no rawApiKey and no password appears in it', async () => {
    const a = await runJson(['n8n', 'create', '--label', 'a', '--scopes', 'workflow:read'], { env })
    const b = await runJson(['n8n', 'rotate', a.json.key.id], { env })
    const dump = execFileSync('pg_dump', ['--data-only', '--inserts', testDatabaseUrl()], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] })
    expect(dump).to.include('n8n_api_keys')
    for (const secret of [a.json.secret, b.json.secret, 'Owner-pw1']) expect(dump).not.to.include(secret)
  })
})
