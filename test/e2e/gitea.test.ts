// Commands run in this process (runCli/runJson), except two rotations of one token at once
// (spawnJson): two real processes overlapping on the fake Gitea, which runs taking turns in
// one process cannot do.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { expect } from 'chai'

import { expectJsonError, expectOneLineError } from '../helpers/assert.js'
import { runCli, runJson, spawnJson } from '../helpers/cli.js'
import { auditRows, openTestSql, testDatabaseUrl, truncateAll } from '../helpers/db.js'
import type { FakeGitea } from '../helpers/fake-gitea.js'
import { startFakeGitea } from '../helpers/fake-gitea.js'

describe('gitea commands against a fake Gitea (integrations.md contract)', function () {
  this.timeout(60_000)
  const sql = openTestSql()
  let gitea: FakeGitea
  let dataDir: string
  let env: Record<string, string>

  beforeEach(async () => {
    await truncateAll(sql)
    gitea = await startFakeGitea()
    dataDir = mkdtempSync(join(tmpdir(), 'momentry-gitea-'))
    env = { GITEA_URL: gitea.url, GITEA_USERNAME: 'admin', GITEA_PASSWORD: 'admin-pw', MOMENTRY_DATA_DIR: dataDir, MOMENTRY_HTTP_TIMEOUT_SECONDS: '1' }
  })
  afterEach(async () => {
    await gitea.close()
    rmSync(dataDir, { recursive: true, force: true })
  })
  after(() => sql.end())

  it('given admin credentials, when `gitea create` mints a token for another user, then it sends Basic auth and Sudo, prints the sha1 once and stores only the last eight', async () => {
    const r = await runJson(['gitea', 'create', '--user', 'alice', '--name', 'deploy', '--scopes', 'read:repository,write:repository,write:issue'], { env })
    expect(r.code, r.stderr).to.equal(0)
    const minted = gitea.tokens[0]!
    expect(r.json.secret).to.equal(minted.sha1)
    expect(r.json.token).to.include({ id: minted.id, user: 'alice', name: 'deploy', lastEight: minted.sha1.slice(-8), tracked: true })
    expect(r.json.token.scopes).to.deep.equal(['write:issue', 'write:repository']) // Gitea's normalisation is what we record
    const post = gitea.seen.find((s) => s.method === 'POST')!
    expect(post.headers.sudo).to.equal('alice')
    expect(String(post.headers.authorization)).to.match(/^Basic /)
    expect(post.url).to.equal('/api/v1/users/alice/tokens')

    const [row] = await sql`select username, token_name, token_last_eight, gitea_url from gitea_tokens`
    expect(row).to.deep.include({ username: 'alice', token_name: 'deploy', token_last_eight: minted.sha1.slice(-8), gitea_url: gitea.url })
    const [audit] = await auditRows(sql)
    expect(audit!.action).to.equal('gitea.token.create')
    expect(JSON.stringify(audit!.details)).not.to.include(minted.sha1)

    const text = await runCli(['gitea', 'create', '--name', 'mine', '--scopes', 'read:user'], { env })
    expect(text.code).to.equal(0)
    expect(text.stdout.trim()).to.equal(gitea.tokens[1]!.sha1) // stdout is the token alone
    expect(text.stderr).to.match(/shown once/)
    expect(gitea.seen.filter((s) => s.method === 'POST')[1]!.headers.sudo).to.equal(undefined) // self: no Sudo
  })

  it('given an unknown scope, when `gitea create` runs, then it exits 2 naming the scope before any request', async () => {
    const r = await runCli(['gitea', 'create', '--name', 'x', '--scopes', 'read:repository,write:everything'], { env })
    expectOneLineError(r, 2, /"write:everything" is not a Gitea scope/)
    expect(gitea.seen).to.have.length(0)
  })

  it('given a name already used by that user, when `gitea create` runs, then it is a conflict (exit 6) with the HTTP status kept', async () => {
    gitea.addToken('alice', 'deploy', ['read:repository'])
    const r = await runJson(['gitea', 'create', '--user', 'alice', '--name', 'deploy', '--scopes', 'read:repository'], { env })
    expectJsonError(r, 6, 'CONFLICT')
    expect(r.json.error.status).to.equal(400)
    expect(r.json.error.message).to.match(/already has a Gitea token named deploy/)
  })

  it('given a wrong password, when any gitea command runs, then it exits 7 with one line naming `auth login gitea` and nothing is recorded', async () => {
    const r = await runCli(['gitea', 'create', '--name', 'x', '--scopes', 'read:user'], { env: { ...env, GITEA_PASSWORD: 'wrong-pw' } })
    expectOneLineError(r, 7, /Gitea refused the password for admin \(401.*momentry auth login gitea/)
    expect(r.stderr).not.to.include('wrong-pw')
    const j = await runJson(['gitea', 'list'], { env: { ...env, GITEA_PASSWORD: 'wrong-pw' } })
    expectJsonError(j, 7, 'SERVICE_AUTH_FAILED')
    expect(j.json.error.status).to.equal(401)
    expect((await sql`select count(*)::int as n from gitea_tokens`)[0]!.n).to.equal(0)
  })

  it('given a non-admin user, when it manages another user’s tokens, then Gitea’s 403 becomes exit 7 with a next step', async () => {
    const r = await runJson(['gitea', 'create', '--user', 'admin', '--name', 'x', '--scopes', 'read:user'], { env: { ...env, GITEA_USERNAME: 'alice', GITEA_PASSWORD: 'alice-pw' } })
    expectJsonError(r, 7, 'SERVICE_FORBIDDEN')
    expect(r.json.error.status).to.equal(403)
    expect(r.json.error.message).to.match(/admin account|log in as admin/i)
  })

  it('given a user that must change their password, then the 403 says so and how to fix it', async () => {
    gitea.users.get('alice')!.mustChangePassword = true
    const r = await runJson(['gitea', 'list'], { env: { ...env, GITEA_USERNAME: 'alice', GITEA_PASSWORD: 'alice-pw' } })
    expectJsonError(r, 7)
    expect(r.json.error.message).to.match(/must change your password.*change the password/i)
  })

  it('given more than 50 tokens, some tracked, one deleted in Gitea and some made in the UI, when `gitea list` runs, then it follows every page and flags drift both ways', async () => {
    for (let i = 0; i < 55; i++) gitea.addToken('alice', `ui-${i}`, ['read:repository'])
    const a = await runJson(['gitea', 'create', '--user', 'alice', '--name', 'tracked-a', '--scopes', 'read:repository'], { env })
    const b = await runJson(['gitea', 'create', '--user', 'alice', '--name', 'tracked-b', '--scopes', 'read:issue'], { env })
    gitea.tokens.splice(gitea.tokens.findIndex((t) => t.id === b.json.token.id), 1) // deleted in the Gitea UI
    const r = await runJson(['gitea', 'list', '--user', 'alice'], { env })
    expect(r.code, r.stderr).to.equal(0)
    expect(r.json.items).to.have.length(57)
    expect(r.json.drift).to.deep.equal({ gone: 1, untracked: 55 })
    expect(r.json.items.find((t: any) => t.id === a.json.token.id)).to.include({ tracked: true, onServer: true, drift: null })
    expect(r.json.items.find((t: any) => t.id === b.json.token.id)).to.include({ tracked: true, onServer: false, drift: 'gone' })
    const pages = gitea.seen.filter((s) => s.method === 'GET' && s.url.startsWith('/api/v1/users/alice/tokens'))
    expect(pages.map((p) => new URL(p.url, 'http://x').searchParams.get('page'))).to.deep.equal(['1', '2'])
    expect(JSON.stringify(r.json)).not.to.include(a.json.secret)
  })

  it('given a tracked token, when `gitea delete ID` runs, then it deletes by numeric id, marks the record deleted and audits it; again → 404 exit 5', async () => {
    const a = await runJson(['gitea', 'create', '--user', 'alice', '--name', 'gone-soon', '--scopes', 'read:user'], { env })
    const id = String(a.json.token.id)
    const r = await runJson(['gitea', 'delete', id], { env })
    expect(r.code, r.stderr).to.equal(0)
    expect(r.json).to.deep.equal({ id: Number(id), user: 'alice', tracked: true })
    expect(gitea.seen.at(-1)).to.include({ method: 'DELETE', url: `/api/v1/users/alice/tokens/${id}` })
    expect(gitea.tokens).to.have.length(0)
    const [row] = await sql`select deleted_at from gitea_tokens`
    expect(row!.deleted_at).to.be.instanceOf(Date)
    expect((await sql`select action from api_key_audit_log order by seq`).map((x) => x.action)).to.deep.equal(['gitea.token.create', 'gitea.token.delete'])

    const again = await runJson(['gitea', 'delete', id, '--user', 'alice'], { env })
    expectJsonError(again, 5, 'NOT_FOUND')
    expect(again.json.error.status).to.equal(404)
  })

  it('given two rotations of one token at once, then exactly one replaces it and the other is refused (6) or finds it no longer tracked (5)', async () => {
    const a = await runJson(['gitea', 'create', '--user', 'alice', '--name', 'contested', '--scopes', 'read:user'], { env })
    gitea.delayMs = 300 // each Gitea call takes a while: the two runs overlap
    const runs = await Promise.all([1, 2].map(() => spawnJson(['gitea', 'rotate', String(a.json.token.id)], { env })))
    gitea.delayMs = 0
    const codes = runs.map((r) => r.code).sort()
    expect(codes[0], runs.map((r) => r.stderr).join('\n')).to.equal(0)
    expect([5, 6]).to.include(codes[1])
    expect(gitea.tokens).to.have.length(1) // one replacement, the old one deleted
    expect(await sql`select 1 from gitea_tokens where deleted_at is null`).to.have.length(1)
  })

  it('given a tracked token already deleted in Gitea, when `gitea delete ID` runs, then momentry stops tracking it (exit 0, audited) and the drift clears', async () => {
    const a = await runJson(['gitea', 'create', '--user', 'alice', '--name', 'deleted-in-ui', '--scopes', 'read:user'], { env })
    gitea.tokens.splice(0, gitea.tokens.length)
    expect((await runJson(['gitea', 'list', '--user', 'alice'], { env })).json.drift).to.include({ gone: 1 })
    const r = await runJson(['gitea', 'delete', String(a.json.token.id)], { env })
    expect(r.code, r.stderr).to.equal(0)
    expect(r.json).to.deep.equal({ id: a.json.token.id, user: 'alice', tracked: true, alreadyGone: true })
    expect((await runJson(['gitea', 'list', '--user', 'alice'], { env })).json.drift).to.include({ gone: 0 })
    const [audit] = await auditRows(sql, { action: 'gitea.token.delete' })
    expect(audit!.details).to.include({ alreadyGone: true, tokenId: a.json.token.id })
  })

  it('given a name or a hex-looking id, when `gitea delete` runs, then it is a usage error (exit 2) before any request', async () => {
    for (const bad of ['deploy', '0x1f', '1.5', '-3', '0', '9'.repeat(20)]) {
      const r = await runCli(['gitea', 'delete', bad], { env })
      expectOneLineError(r, 2, /is not a Gitea token id/)
    }
    expect(gitea.seen).to.have.length(0)
  })

  it('given tokens with and without read:user, when `gitea verify` reads them from stdin or --token-env, then 200 → valid + login (0), 403 required scope → valid, lacks scope (0), 401 → invalid (3)', async () => {
    const withUser = gitea.addToken('alice', 'a', ['read:user'])
    const noUser = gitea.addToken('alice', 'b', ['read:repository'])
    const ok = await runJson(['gitea', 'verify'], { env, input: `${withUser.sha1}\n` })
    expect(ok.code).to.equal(0)
    expect(ok.json).to.deep.equal({ valid: true, status: 'valid', login: 'alice', httpStatus: 200 })
    const verifyCall = gitea.seen.at(-1)!
    expect(verifyCall.headers.authorization).to.equal(`token ${withUser.sha1}`)
    expect(verifyCall.url).to.equal('/api/v1/user')

    const scoped = await runJson(['gitea', 'verify', '--token-env', 'T'], { env: { ...env, T: noUser.sha1 } })
    expect(scoped.code).to.equal(0)
    expect(scoped.json).to.include({ valid: true, status: 'insufficient_scope', httpStatus: 403 })

    gitea.users.get('alice')!.mustChangePassword = true // any 403 but "required scope": the token cannot be used
    const refused = await runJson(['gitea', 'verify'], { env, input: withUser.sha1 })
    expect(refused.code).to.equal(3)
    expect(refused.json).to.include({ valid: false, status: 'refused', httpStatus: 403 })
    gitea.users.get('alice')!.mustChangePassword = false

    const bad = await runCli(['gitea', 'verify'], { env, input: 'f'.repeat(40) })
    expect(bad.code).to.equal(3)
    expect(bad.stdout).to.match(/invalid/)

    const positional = await runCli(['gitea', 'verify', withUser.sha1], { env })
    expect(positional.code).to.equal(0)
    expect(positional.stderr).to.match(/visible in ps/)

    const empty = await runCli(['gitea', 'verify'], { env, input: '' })
    expectOneLineError(empty, 2, /no token on stdin/)
  })

  it('given a tracked token, when `gitea rotate` runs, then the replacement exists (derived name, same scopes) before the old one is deleted, and the new secret is printed once', async () => {
    const a = await runJson(['gitea', 'create', '--user', 'alice', '--name', 'ci', '--scopes', 'read:repository,write:issue'], { env })
    const r = await runJson(['gitea', 'rotate', String(a.json.token.id)], { env })
    expect(r.code, r.stderr).to.equal(0)
    expect(r.json.token.name).to.match(/^ci-rot-\d{8}T\d{6}Z$/)
    expect(r.json.token.scopes).to.deep.equal(['read:repository', 'write:issue'])
    expect(r.json.previous).to.deep.equal({ id: a.json.token.id, name: 'ci', deleted: true })
    expect(gitea.tokens.map((t) => t.sha1)).to.deep.equal([r.json.secret])
    const calls = gitea.seen.filter((s) => s.method !== 'GET').map((s) => s.method)
    expect(calls).to.deep.equal(['POST', 'POST', 'DELETE']) // create, create replacement, then delete
    const rows = await sql`select gitea_token_id::int as id, deleted_at from gitea_tokens order by id`
    expect(rows.map((x) => [x.id, x.deleted_at !== null])).to.deep.equal([[a.json.token.id, true], [r.json.token.id, false]])

    const untracked = gitea.addToken('alice', 'ui', ['read:user'])
    expectJsonError(await runJson(['gitea', 'rotate', String(untracked.id)], { env }), 5, 'NOT_FOUND')
  })

  it('given Gitea down, answering 5xx, HTML or an unexpected shape, or hanging, then each is one line, exit 7, with its own code and the status where there is one', async () => {
    await gitea.close()
    const down = await runJson(['gitea', 'list'], { env })
    expectJsonError(down, 7, 'SERVICE_UNREACHABLE')
    expect(down.json.error.message).to.match(/refused the connection/)
    gitea = await startFakeGitea()
    env.GITEA_URL = gitea.url

    gitea.fault = '502'
    const r5 = await runJson(['gitea', 'list'], { env })
    expectJsonError(r5, 7, 'SERVICE_ERROR')
    expect(r5.json.error.status).to.equal(502)

    gitea.fault = 'html'
    const html = await runCli(['gitea', 'list'], { env })
    expectOneLineError(html, 7, /not JSON \(text\/html\)/)

    gitea.fault = 'garbage-json'
    const shape = await runJson(['gitea', 'create', '--name', 'x', '--scopes', 'read:user'], { env })
    expectJsonError(shape, 7, 'SERVICE_BAD_RESPONSE')

    gitea.fault = 'hang'
    const started = Date.now()
    const hang = await runCli(['gitea', 'list'], { env })
    expectOneLineError(hang, 7, /did not answer within 1 s/)
    expect(Date.now() - started).to.be.below(10_000)

    const dns = await runJson(['gitea', 'verify', '--token-env', 'T'], { env: { ...env, GITEA_URL: 'http://gitea.invalid', T: 'abc' } })
    expectJsonError(dns, 7, 'SERVICE_UNREACHABLE')
    expect(dns.json.error.message).to.match(/does not resolve/)
  })

  it('given no credentials at all, when a gitea command runs, then it exits 8 naming `auth login gitea`', async () => {
    const r = await runCli(['gitea', 'list'], { env: { ...env, GITEA_USERNAME: '', GITEA_PASSWORD: '' } })
    expectOneLineError(r, 8, /no Gitea credentials.*momentry auth login gitea/)
  })

  it('given tokens created and rotated, when the database is dumped, then no sha1 and no password appears in it', async () => {
    const a = await runJson(['gitea', 'create', '--user', 'alice', '--name', 'x', '--scopes', 'read:user'], { env })
    const b = await runJson(['gitea', 'rotate', String(a.json.token.id)], { env })
    const dump = execFileSync('pg_dump', ['--data-only', '--inserts', testDatabaseUrl()], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] })
    expect(dump).to.include('gitea_tokens')
    for (const secret of [a.json.secret, b.json.secret, 'admin-pw']) expect(dump).not.to.include(secret)
  })
})
