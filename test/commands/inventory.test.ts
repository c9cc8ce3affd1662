import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { expect } from 'chai'

import { expectOneLineError } from '../helpers/assert.js'
import { runCli, runJson } from '../helpers/cli.js'
import { openTestSql, truncateAll } from '../helpers/db.js'
import type { FakeGitea } from '../helpers/fake-gitea.js'
import { startFakeGitea } from '../helpers/fake-gitea.js'
import type { FakeN8n } from '../helpers/fake-n8n.js'
import { startFakeN8n } from '../helpers/fake-n8n.js'

describe('report inventory', function () {
  this.timeout(60_000)
  const sql = openTestSql()
  let gitea: FakeGitea
  let n8n: FakeN8n
  let dir: string
  let env: Record<string, string>
  const secrets: string[] = []

  before(async () => {
    await truncateAll(sql)
    gitea = await startFakeGitea()
    n8n = await startFakeN8n()
    dir = mkdtempSync(join(tmpdir(), 'momentry-inv-'))
    env = { GITEA_URL: gitea.url, GITEA_USERNAME: 'admin', GITEA_PASSWORD: 'admin-pw', N8N_URL: n8n.url, N8N_EMAIL: 'owner@example.com', N8N_PASSWORD: 'Owner-pw1', MOMENTRY_DATA_DIR: dir }
    const key = await runJson(['api-key', 'create', '--name', 'billing,"export"', '--type', 'integration', '--owner', '=payments', '--scopes', 'invoices:read'], { env })
    const tok = await runJson(['gitea', 'create', '--user', 'alice', '--name', 'deploy|prod', '--scopes', 'read:repository'], { env })
    const nk = await runJson(['n8n', 'create', '--label', 'ci', '--scopes', 'workflow:read', '--expires-in', '30d'], { env })
    secrets.push(key.json.secret, tok.json.secret, nk.json.secret)
  })
  after(async () => {
    await Promise.all([gitea.close(), n8n.close()])
    rmSync(dir, { recursive: true, force: true })
    await sql.end()
  })

  it('given a momentry key, a Gitea token and an n8n key, when `report inventory --json` runs, then all three are listed together, without secrets', async () => {
    const r = await runJson(['report', 'inventory'], { env })
    expect(r.code, r.stderr).to.equal(0)
    expect(r.json.counts).to.deep.equal({ 'momentry-key': 1, 'gitea-token': 1, 'n8n-api-key': 1 })
    expect(r.json.items.map((i: any) => [i.kind, i.status])).to.deep.equal([['momentry-key', 'active'], ['gitea-token', 'active'], ['n8n-api-key', 'active']])
    expect(r.json.items[0]).to.include({ type: 'integration', owner: '=payments', lastUsedAt: null, ageDays: 0 })
    expect(r.json.items[1]).to.include({ owner: 'alice', service: gitea.url, name: 'deploy|prod' })
    expect(r.json.items[2].expiresAt).to.be.a('string')
    for (const s of secrets) expect(r.stdout).not.to.include(s)
  })

  it('given --format csv --out FILE, then the file is RFC 4180 CSV with formula-like cells defused; md escapes pipes; table is the default', async () => {
    const file = join(dir, 'inv.csv')
    const r = await runCli(['report', 'inventory', '--format', 'csv', '--out', file], { env })
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.equal('')
    expect(r.stderr).to.match(/Wrote 3 credential\(s\) to .*inv.csv/)
    const lines = readFileSync(file, 'utf8').trim().split('\r\n')
    expect(lines[0]).to.equal('kind,id,name,type,owner,service,scopes,created,expires,last used,age (days),status,drift')
    expect(lines[1]).to.include(`"billing,""export""",integration,'=payments`)
    const md = await runCli(['report', 'inventory', '--format', 'md'], { env })
    expect(md.stdout).to.include('deploy\\|prod')
    const table = await runCli(['report', 'inventory'], { env })
    expect(table.stdout).to.match(/gitea-token/).and.match(/n8n-api-key/)
    for (const s of secrets) expect(readFileSync(file, 'utf8') + md.stdout + table.stdout).not.to.include(s)
  })

  it('given a bad format or an unwritable --out, then one line and the documented exit code', async () => {
    expectOneLineError(await runCli(['report', 'inventory', '--format', 'xml'], { env }), 2)
    expectOneLineError(await runCli(['report', 'inventory', '--out', '/nonexistent/dir/x.csv'], { env }), 2, /--out \/nonexistent\/dir\/x\.csv: cannot write there \(ENOENT\)/)
  })

  it('given --drift, when a tracked token was deleted in Gitea and tokens and keys were made outside momentry, then each credential says in sync or gone and the others are listed as untracked', async () => {
    const made = await runJson(['gitea', 'create', '--user', 'alice', '--name', 'soon-gone', '--scopes', 'read:repository'], { env })
    secrets.push(made.json.secret)
    gitea.tokens.splice(gitea.tokens.findIndex((t) => t.name === 'soon-gone'), 1)
    gitea.addToken('alice', 'made-in-the-ui', ['read:issue'])
    n8n.keys.push({ id: 'outside-1', label: 'by hand', rawApiKey: 'n8n_api_by_hand_secret', userId: 'u1', scopes: ['workflow:read'], createdAt: new Date().toISOString(), expiresAt: null })
    const r = await runJson(['report', 'inventory', '--drift'], { env })
    expect(r.code, r.stderr).to.equal(0)
    const drift = Object.fromEntries(r.json.items.map((i: any) => [i.name, i.drift]))
    expect(drift).to.deep.equal({ 'billing,"export"': null, 'soon-gone': 'gone', 'deploy|prod': 'in sync', ci: 'in sync' })
    expect(r.json.untracked.map((u: any) => [u.kind, u.name, u.owner])).to.deep.equal([
      ['gitea-token', 'made-in-the-ui', 'alice'],
      ['n8n-api-key', 'by hand', 'owner@example.com'],
    ])
    expect(r.json.checks.map((c: any) => [c.service, c.status, c.users])).to.deep.equal([
      ['gitea', 'checked', ['admin', 'alice']],
      ['n8n', 'checked', ['owner@example.com']],
    ])
    expect(r.stdout).not.to.include('n8n_api_by_hand_secret')
    const table = await runCli(['report', 'inventory', '--drift'], { env })
    expect(table.stdout).to.match(/made-in-the-ui.*untracked/).and.match(/soon-gone.*gone/).and.match(/Drift, gitea \(http:[^)]+\): checked for admin, alice/)
    // Without --drift nothing is asked: the verdicts are null, the servers see no request.
    const before = gitea.seen.length
    const plain = await runJson(['report', 'inventory'], { env })
    expect(plain.json.items.every((i: any) => i.drift === null)).to.equal(true)
    expect(plain.json.checks).to.deep.equal([])
    expect(gitea.seen.length).to.equal(before)
  })

  it('given --drift with Gitea unreachable and n8n not configured, then the report is still made, exit 0, with one line naming what could not be asked', async () => {
    const { GITEA_URL: _g, N8N_URL: _u, N8N_EMAIL: _e, N8N_PASSWORD: _p, ...rest } = env
    const down = { ...rest, GITEA_URL: 'http://127.0.0.1:9', MOMENTRY_HTTP_TIMEOUT_SECONDS: '2', N8N_URL: '', N8N_EMAIL: '', N8N_PASSWORD: '' }
    const r = await runJson(['report', 'inventory', '--drift'], { env: down })
    expect(r.code, r.stderr).to.equal(0)
    expect(r.json.checks.map((c: any) => [c.service, c.status])).to.deep.equal([
      ['gitea', 'failed'],
      ['n8n', 'not configured'],
    ])
    expect(r.json.checks[0].message).to.match(/127\.0\.0\.1:9/)
    expect(r.json.items.every((i: any) => i.drift === null)).to.equal(true)
    const human = await runCli(['report', 'inventory', '--drift'], { env: down })
    expect(human.code).to.equal(0)
    expect(human.stderr.trim().split('\n')).to.have.length(1)
    expect(human.stderr).to.match(/^drift: gitea could not be asked: /)
  })
})
