// `scan` and the Gitea tokens and n8n API keys momentry tracks, against the contract fakes:
// a candidate is a whole token ending in a tracked tail, confirmed by the service's own
// verify call before it is reported; --revoke/--rotate go through the gitea/n8n core.
import { randomBytes } from 'node:crypto'

import { expect } from 'chai'

import { fixedClock } from '../../src/core/clock.js'
import type { CoreContext } from '../../src/core/context.js'
import type { Sql } from '../../src/core/db/connect.js'
import type { MomentryEvent } from '../../src/core/events.js'
import type { GiteaSession } from '../../src/core/gitea/gitea-client.js'
import { giteaTarget, verifyGiteaToken } from '../../src/core/gitea/gitea-client.js'
import { createGiteaToken } from '../../src/core/gitea/gitea-tokens.js'
import type { N8nSession } from '../../src/core/n8n/n8n-client.js'
import { createN8nKeyRemote, loginN8n, n8nTarget } from '../../src/core/n8n/n8n-client.js'
import { createN8nKey } from '../../src/core/n8n/n8n-keys.js'
import { findServiceTokens, MANY_SUFFIXES, suffixIndex } from '../../src/core/scan/find-service-tokens.js'
import { scanAndRespond } from '../../src/core/scan/respond.js'
import type { ServiceTokenFinding } from '../../src/core/scan/scan.js'
import { scanForKeys } from '../../src/core/scan/scan.js'
import { renderScan, withoutSecrets } from '../../src/ui/scan.js'
import { auditRows, openTestSql, testContext, truncateAll } from '../helpers/db.js'
import type { FakeGitea } from '../helpers/fake-gitea.js'
import { startFakeGitea } from '../helpers/fake-gitea.js'
import type { FakeN8n } from '../helpers/fake-n8n.js'
import { startFakeN8n } from '../helpers/fake-n8n.js'
import { scratchDir } from '../helpers/seed-tree.js'

const T0 = new Date(Date.now() + 60_000).toISOString().replace(/\.\d+Z$/, '.000Z')

/** 40 lowercase hex characters ending like `token` (what a git SHA-1 that collides on the tail looks like). */
const lookalike = (token: string) => randomBytes(16).toString('hex') + token.slice(-8)

/** Every form a secret could leak in: whole, and the tail the listings show. */
function expectNoPartOf(text: string, secret: string, tail: number): void {
  expect(text, 'a secret appeared').to.not.include(secret)
  expect(text, 'a secret tail appeared').to.not.include(secret.slice(-tail))
}

const services = <T extends { credential: string }>(items: readonly T[]) => items.filter((f): f is T & ServiceTokenFinding => f.credential !== 'momentry')

describe('scan: tracked Gitea tokens and n8n API keys (core, contract fakes)', function () {
  this.timeout(30_000)
  let sql: Sql
  let gitea: FakeGitea
  let n8n: FakeN8n
  let ctx: CoreContext
  let admin: GiteaSession
  let owner: N8nSession
  let events: MomentryEvent[]
  let tree: ReturnType<typeof scratchDir>

  before(() => {
    sql = openTestSql()
  })
  after(() => sql.end())
  beforeEach(async () => {
    await truncateAll(sql)
    gitea = await startFakeGitea()
    n8n = await startFakeN8n()
    ctx = testContext(sql, { clock: fixedClock(T0), actor: 'test:scan', env: { MOMENTRY_HTTP_TIMEOUT_SECONDS: '1' } })
    events = []
    ctx.bus.on('*', (e) => void events.push(e))
    admin = { target: giteaTarget(gitea.url, 2), username: 'admin', password: 'admin-pw' }
    owner = await loginN8n(n8nTarget(n8n.url, 2), 'owner@example.com', 'Owner-pw1')
    tree = scratchDir('scan-services')
  })
  afterEach(async () => {
    await ctx.bus.drain()
    await gitea.close()
    await n8n.close()
    tree.remove()
  })

  const sessions = () => ({ gitea: async () => admin, n8n: async () => owner })
  const verifyCalls = (fake: FakeGitea | FakeN8n, path: string) => fake.seen.filter((r) => r.url === path)

  describe('findServiceTokens', () => {
    const token = 'a'.repeat(32) + '0badc0de'
    const jwt = `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.${'x'.repeat(30)}Qk9z`
    const tails = [{ credential: 'gitea' as const, suffix: '0badc0de' }, { credential: 'n8n' as const, suffix: 'Qk9z' }]

    it('given whole tokens beside ones that only end the same way, then only the whole ones are candidates, at their line and column', () => {
      const text = [
        `GITEA_TOKEN=${token}`,
        `sha256=${'f'.repeat(24)}${token}`, // a longer hex run
        `word${token}`, // runs on from a word
        `${token.toUpperCase().slice(0, 32)}0badc0de`, // not lowercase
        `${token}x`, // runs on into a letter
        `  key: "${jwt}".`,
        `x.${jwt}`, // a dotted run: the last three segments are the JWT
        `${jwt.replace('eyJ', 'abc')}`, // no JWT header
        `${jwt.replace('.eyJ', '..eyJ')}`, // an empty segment
      ].join('\n')
      const found = findServiceTokens(Buffer.from(text), suffixIndex(tails)!)
      expect(found.map((c) => [c.credential, c.raw, c.line, c.column])).to.deep.equal([
        ['gitea', token, 1, 13],
        ['n8n', jwt, 6, 9],
        ['n8n', jwt, 7, 3],
      ])
    })

    it('given more tracked tails than the indexOf path takes, then the one regex pass finds the same candidates', () => {
      const many = [...tails, ...Array.from({ length: MANY_SUFFIXES + 1 }, () => ({ credential: 'gitea' as const, suffix: randomBytes(4).toString('hex') })), ...Array.from({ length: MANY_SUFFIXES + 1 }, (_, i) => ({ credential: 'n8n' as const, suffix: `Zz${i}`.padEnd(4, 'q') }))]
      const text = Buffer.from(`a ${token}\nb ${'f'.repeat(24)}${token}\n  "${jwt}"\n${jwt}x${token}\n`)
      const few = findServiceTokens(text, suffixIndex(tails)!)
      expect(few).to.have.length(2)
      expect(findServiceTokens(text, suffixIndex(many)!)).to.deep.equal(few)
    })

    it('given nothing tracked, then there is no index and nothing is searched', () => {
      expect(suffixIndex([])).to.equal(undefined)
    })
  })

  describe('Gitea', () => {
    it('given a tracked live token, an untracked one and a 40-hex lookalike with the same last eight, then only the tracked one is reported, confirmed by GET /api/v1/user, with its record and no part of the token', async () => {
      const tracked = await createGiteaToken(ctx, admin, { user: 'alice', name: 'deploy', scopes: ['read:user', 'write:repository'] })
      const untracked = gitea.addToken('alice', 'made-in-ui', ['read:user'])
      const fake = lookalike(tracked.secret)
      tree.write('ci/deploy.sh', `#!/bin/sh\nexport GITEA_TOKEN=${tracked.secret}\n`)
      tree.write('notes.md', `untracked: ${untracked.sha1}\ncommit ${fake}\nagain ${tracked.secret}\n`)
      gitea.seen.length = 0

      const { result } = await scanForKeys(ctx, { paths: ['.'], cwd: tree.dir })
      expect(services(result.items).map((f) => [f.location.path, f.location.line, f.location.column, f.credential, f.type, f.keyId, f.name, f.user, f.url, f.status, f.live, f.stub])).to.deep.equal([
        ['ci/deploy.sh', 2, 20, 'gitea', 'gitea-token', String(tracked.token.id), 'deploy', 'alice', gitea.url, 'confirmed', true, tracked.secret.slice(0, 4)],
        ['notes.md', 3, 7, 'gitea', 'gitea-token', String(tracked.token.id), 'deploy', 'alice', gitea.url, 'confirmed', true, tracked.secret.slice(0, 4)],
      ])
      expect(result.live).to.equal(2)
      expect(result.unconfirmed).to.equal(0)
      // Each distinct candidate asked once: the token (found twice) and the lookalike; never the untracked one.
      const calls = verifyCalls(gitea, '/api/v1/user')
      expect(calls.map((c) => c.headers.authorization)).to.have.members([`token ${tracked.secret}`, `token ${fake}`])
      expect(result.candidates).to.deep.equal({ checked: 2, confirmed: 1, refused: 1, unconfirmed: 0 })
      for (const format of ['json', 'table', 'sarif'] as const) {
        const text = renderScan(withoutSecrets({ ...result, items: result.items.map((f) => ({ ...f, action: 'none' as const })), rotated: [], rotatedServices: [] }), format, { version: 'test' })
        expectNoPartOf(text, tracked.secret, 8)
        expectNoPartOf(text, fake, 8)
        expect(text).to.not.include(untracked.sha1)
      }
      expect(renderScan({ items: result.items.map((f) => ({ ...f, action: 'none' as const })) }, 'sarif', { version: 'test' })).to.include('momentry/live-gitea-token')
    })

    it('given a tracked token whose user Gitea says is someone else, then it is not reported as that token', async () => {
      const tracked = await createGiteaToken(ctx, admin, { user: 'alice', name: 'deploy', scopes: ['read:user'] })
      // The same tail on a token of another user (a tail collision): Gitea accepts it, as admin's.
      const other = gitea.addToken('admin', 'other', ['read:user'])
      other.sha1 = lookalike(tracked.secret)
      tree.write('a.txt', other.sha1)
      const { result } = await scanForKeys(ctx, { paths: ['.'], cwd: tree.dir })
      expect(result.items).to.deep.equal([])
      expect(result.candidates).to.include({ checked: 1, refused: 1 })
    })

    it('given Gitea knows the token but refuses its user (403 must change password), then it is confirmed: the token exists', async () => {
      const tracked = await createGiteaToken(ctx, admin, { user: 'alice', name: 'deploy', scopes: ['read:user'] })
      gitea.users.get('alice')!.mustChangePassword = true
      tree.write('a.txt', tracked.secret)
      const { result } = await scanForKeys(ctx, { paths: ['.'], cwd: tree.dir })
      expect(services(result.items).map((f) => [f.keyId, f.status, f.live])).to.deep.equal([[String(tracked.token.id), 'confirmed', true]])
    })

    it('given two tracked tokens of one user with the same last eight, when revoking, then the finding is ambiguous and neither is deleted', async () => {
      const first = await createGiteaToken(ctx, admin, { user: 'alice', name: 'one', scopes: ['read:user'] })
      const second = await createGiteaToken(ctx, admin, { user: 'alice', name: 'two', scopes: ['read:user'] })
      await sql`update gitea_tokens set token_last_eight = ${first.secret.slice(-8)} where gitea_token_id = ${second.token.id}`
      tree.write('a.txt', first.secret)
      const report = await scanAndRespond(ctx, { paths: ['.'], cwd: tree.dir }, { response: 'revoke', sessions: sessions() })
      expect(services(report.items).map((f) => [f.status, f.ambiguous, f.action])).to.deep.equal([['confirmed', true, 'ambiguous']])
      expect(gitea.tokens).to.have.length(2)
      expect(gitea.seen.filter((r) => r.method === 'DELETE')).to.deep.equal([])
    })

    it('given the stored Gitea login is for another server, when revoking, then the token is no_session and nothing is deleted', async () => {
      const tracked = await createGiteaToken(ctx, admin, { user: 'alice', name: 'deploy', scopes: ['read:user'] })
      tree.write('a.txt', tracked.secret)
      const elsewhere = { ...admin, target: giteaTarget('http://127.0.0.1:9', 1) }
      const report = await scanAndRespond(ctx, { paths: ['.'], cwd: tree.dir }, { response: 'revoke', sessions: { ...sessions(), gitea: async () => elsewhere } })
      expect(report.items.map((f) => f.action)).to.deep.equal(['no_session'])
      expect(report.items[0]!.actionError).to.include('http://127.0.0.1:9').and.include(gitea.url)
      expect(gitea.tokens).to.have.length(1)
    })

    it('given nothing tracked, then no 40-hex string is sent to any server', async () => {
      const token = gitea.addToken('alice', 'ui', ['read:user'])
      tree.write('a.txt', `${token.sha1}\n`)
      gitea.seen.length = 0
      const { result } = await scanForKeys(ctx, { paths: ['.'], cwd: tree.dir })
      expect(result.items).to.deep.equal([])
      expect(gitea.seen).to.deep.equal([])
      expect(result.candidates.checked).to.equal(0)
    })

    it('given a tracked live token found twice, when revoking, then it is deleted once at the fake through the gitea core, audited with the place, and one key.leaked event carries no part of it', async () => {
      const tracked = await createGiteaToken(ctx, admin, { user: 'alice', name: 'deploy', scopes: ['read:user'] })
      tree.write('a.env', `TOKEN=${tracked.secret}\n`)
      tree.write('b.env', `\nTOKEN=${tracked.secret}\n`)
      events.length = 0
      const report = await scanAndRespond(ctx, { paths: ['.'], cwd: tree.dir }, { response: 'revoke', sessions: sessions() })
      await ctx.bus.drain()
      expect(report.items.map((f) => [f.location.path, f.action])).to.deep.equal([
        ['a.env', 'deleted'],
        ['b.env', 'deleted'],
      ])
      expect(gitea.tokens.map((t) => t.id)).to.not.include(tracked.token.id)
      expect(gitea.seen.filter((r) => r.method === 'DELETE').map((r) => r.url)).to.deep.equal([`/api/v1/users/alice/tokens/${tracked.token.id}`])
      expect((await verifyGiteaToken(giteaTarget(gitea.url, 2), tracked.secret)).valid).to.equal(false)
      const [row] = await sql`select deleted_at from gitea_tokens where gitea_token_id = ${tracked.token.id}`
      expect(row!.deleted_at).to.not.equal(null)
      const audits = await auditRows(sql, { action: 'gitea.token.delete' })
      expect(audits.map((a) => a.details)).to.deep.equal([{ giteaUrl: gitea.url, user: 'alice', tokenId: tracked.token.id, reason: 'leaked: found in a.env:1' }])
      const leaked = events.filter((e) => e.type === 'key.leaked')
      expect(leaked).to.deep.equal([
        { type: 'key.leaked', credential: 'gitea', keyId: String(tracked.token.id), name: 'deploy', where: 'a.env:1', response: 'deleted', newKeyId: null, service: gitea.url, owner: 'alice', at: T0 },
      ])
      expectNoPartOf(JSON.stringify(events), tracked.secret, 8)
      expectNoPartOf(JSON.stringify(withoutSecrets(report)), tracked.secret, 8)
    })

    it('given a tracked live token, when rotating, then a replacement is made and returned once with its secret, the leaked one is deleted, and the findings hold neither', async () => {
      const tracked = await createGiteaToken(ctx, admin, { user: 'alice', name: 'deploy', scopes: ['read:user'] })
      tree.write('a.env', `TOKEN=${tracked.secret}\n`)
      const report = await scanAndRespond(ctx, { paths: ['.'], cwd: tree.dir }, { response: 'rotate', sessions: sessions() })
      expect(report.items.map((f) => f.action)).to.deep.equal(['rotated'])
      expect(report.rotatedServices).to.have.length(1)
      const [r] = report.rotatedServices
      expect(r).to.include({ credential: 'gitea', previousId: String(tracked.token.id), previousDeleted: true, url: gitea.url })
      expect(gitea.tokens.map((t) => t.sha1)).to.deep.equal([r!.secret])
      expect((await verifyGiteaToken(giteaTarget(gitea.url, 2), r!.secret)).valid).to.equal(true)
      const text = JSON.stringify(withoutSecrets(report))
      expectNoPartOf(text, tracked.secret, 8)
      expect(text).to.not.include(r!.secret)
      expect(events.filter((e) => e.type === 'key.leaked')).to.deep.include.members([
        { type: 'key.leaked', credential: 'gitea', keyId: String(tracked.token.id), name: 'deploy', where: 'a.env:1', response: 'rotated', newKeyId: r!.id, service: gitea.url, owner: 'alice', at: T0 },
      ])
    })

    it('given no Gitea login, when revoking, then the confirmed token is reported with no_session and nothing is deleted', async () => {
      const tracked = await createGiteaToken(ctx, admin, { user: 'alice', name: 'deploy', scopes: ['read:user'] })
      tree.write('a.env', `TOKEN=${tracked.secret}\n`)
      const report = await scanAndRespond(ctx, { paths: ['.'], cwd: tree.dir }, { response: 'revoke' })
      expect(report.items.map((f) => [f.action, f.actionError])).to.deep.equal([['no_session', 'no Gitea credentials: run `momentry auth login gitea`']])
      expect(report.live).to.equal(1)
      expect(gitea.tokens).to.have.length(1)
    })

    for (const fault of ['hang', '500'] as const) {
      it(`given Gitea ${fault === 'hang' ? 'never answers' : 'answers 500'}, then the candidate is reported as unconfirmed (not a crash, not acted on) and no part of it is in the reason`, async () => {
        const tracked = await createGiteaToken(ctx, admin, { user: 'alice', name: 'deploy', scopes: ['read:user'] })
        tree.write('a.env', `TOKEN=${tracked.secret}\n`)
        gitea.fault = fault
        const started = Date.now()
        const report = await scanAndRespond(ctx, { paths: ['.'], cwd: tree.dir }, { response: 'revoke', sessions: sessions() })
        expect(Date.now() - started).to.be.below(5000)
        const [f] = services(report.items)
        expect(f).to.include({ credential: 'gitea', keyId: String(tracked.token.id), status: 'unconfirmed', live: false, action: 'unconfirmed' })
        expect(f!.reason).to.match(fault === 'hang' ? /did not answer within 1 s/ : /failed the token check with 500/)
        expect(report).to.include({ live: 0, unconfirmed: 1 })
        expect(gitea.seen.filter((r) => r.method === 'DELETE')).to.deep.equal([])
        expectNoPartOf(JSON.stringify(withoutSecrets(report)), tracked.secret, 8)
        gitea.fault = 'none'
        expect(gitea.tokens).to.have.length(1)
      })
    }
  })

  describe('n8n', () => {
    it('given a tracked live key, an untracked one and a JWT lookalike with the same last four, then only the tracked one is reported, confirmed with X-N8N-API-KEY', async () => {
      const tracked = await createN8nKey(ctx, owner, { label: 'ci', scopes: ['workflow:read', 'workflow:list'] })
      const untracked = await createN8nKeyRemote(owner, { label: 'ui', scopes: ['workflow:read'], expiresAt: null })
      const fake = `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJub2JvZHkifQ.${randomBytes(24).toString('base64url')}${tracked.secret.slice(-4)}`
      tree.write('workflow.json', `{"headers": {"X-N8N-API-KEY": "${tracked.secret}"}}\n`)
      tree.write('other.txt', `${untracked.rawApiKey}\n${fake}\n`)
      n8n.seen.length = 0

      const { result } = await scanForKeys(ctx, { paths: ['.'], cwd: tree.dir })
      expect(services(result.items).map((f) => [f.location.path, f.location.line, f.location.column, f.credential, f.type, f.keyId, f.name, f.user, f.url, f.status, f.stub])).to.deep.equal([
        ['workflow.json', 1, 32, 'n8n', 'n8n-api-key', tracked.key.id, 'ci', 'owner@example.com', n8n.url, 'confirmed', tracked.secret.slice(0, 4)],
      ])
      const calls = verifyCalls(n8n, '/api/v1/workflows?limit=1')
      expect(calls.map((c) => c.headers['x-n8n-api-key'])).to.have.members([tracked.secret, fake])
      expect(result.candidates).to.deep.equal({ checked: 2, confirmed: 1, refused: 1, unconfirmed: 0 })
      for (const format of ['json', 'table', 'sarif'] as const) {
        const text = renderScan({ items: result.items.map((f) => ({ ...f, action: 'none' as const })) }, format, { version: 'test' })
        expectNoPartOf(text, tracked.secret, 4)
        expect(text).to.not.include(fake).and.not.include(untracked.rawApiKey)
      }
    })

    it('given a tracked live key, when revoking, then it is deleted at the fake through the n8n core (re-listed), audited with the place, and key.leaked says so', async () => {
      const tracked = await createN8nKey(ctx, owner, { label: 'ci', scopes: ['workflow:read'] })
      tree.write('a.env', `N8N_API_KEY=${tracked.secret}\n`)
      events.length = 0
      const report = await scanAndRespond(ctx, { paths: ['.'], cwd: tree.dir }, { response: 'revoke', sessions: sessions() })
      await ctx.bus.drain()
      expect(report.items.map((f) => f.action)).to.deep.equal(['deleted'])
      expect(n8n.keys).to.deep.equal([])
      const audits = await auditRows(sql, { action: 'n8n.key.delete' })
      expect(audits.map((a) => a.details)).to.deep.equal([{ n8nUrl: n8n.url, n8nKeyId: tracked.key.id, label: 'ci', reason: 'leaked: found in a.env:1' }])
      expect(events.filter((e) => e.type === 'key.leaked')).to.deep.equal([
        { type: 'key.leaked', credential: 'n8n', keyId: tracked.key.id, name: 'ci', where: 'a.env:1', response: 'deleted', newKeyId: null, service: n8n.url, owner: 'owner@example.com', at: T0 },
      ])
      expectNoPartOf(JSON.stringify(events), tracked.secret, 4)
    })

    it('given a tracked live key, when rotating, then the replacement is returned once and the leaked key no longer works', async () => {
      const tracked = await createN8nKey(ctx, owner, { label: 'ci', scopes: ['workflow:read'] })
      tree.write('a.env', `N8N_API_KEY=${tracked.secret}\n`)
      // n8n's JWTs have a one-second iat: a replacement in the same second would be identical.
      await new Promise((r) => setTimeout(r, 1100))
      const report = await scanAndRespond(ctx, { paths: ['.'], cwd: tree.dir }, { response: 'rotate', sessions: sessions() })
      expect(report.items.map((f) => f.action)).to.deep.equal(['rotated'])
      const [r] = report.rotatedServices
      expect(r).to.include({ credential: 'n8n', previousId: tracked.key.id, previousDeleted: true })
      expect(n8n.keys.map((k) => k.rawApiKey)).to.deep.equal([r!.secret])
      expect(JSON.stringify(withoutSecrets(report))).to.not.include(r!.secret).and.not.include(tracked.secret)
    })

    it('given n8n answers 500, then the candidate is unconfirmed and the scan still reports it', async () => {
      const tracked = await createN8nKey(ctx, owner, { label: 'ci', scopes: ['workflow:read'] })
      tree.write('a.env', `N8N_API_KEY=${tracked.secret}\n`)
      n8n.fault = '500'
      const { result } = await scanForKeys(ctx, { paths: ['.'], cwd: tree.dir })
      expect(services(result.items).map((f) => [f.status, f.live, f.keyId])).to.deep.equal([['unconfirmed', false, tracked.key.id]])
      expect(result.candidates).to.include({ unconfirmed: 1 })
    })

    it('given a tracked key that has expired, then it is not searched for', async () => {
      const tracked = await createN8nKey(ctx, owner, { label: 'ci', scopes: ['workflow:read'], expiresInSeconds: 60 })
      tree.write('a.env', `N8N_API_KEY=${tracked.secret}\n`)
      n8n.seen.length = 0
      const later = testContext(sql, { clock: fixedClock(new Date(Date.parse(T0) + 120_000).toISOString()) })
      const { result } = await scanForKeys(later, { paths: ['.'], cwd: tree.dir })
      expect(result.items).to.deep.equal([])
      expect(n8n.seen).to.deep.equal([])
    })
  })
})
