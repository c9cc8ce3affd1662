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
    expect(lines[0]).to.equal('kind,id,name,type,owner,service,scopes,created,expires,last used,age (days),status')
    expect(lines[1]).to.include(`"billing,""export""",integration,'=payments`)
    const md = await runCli(['report', 'inventory', '--format', 'md'], { env })
    expect(md.stdout).to.include('deploy\\|prod')
    const table = await runCli(['report', 'inventory'], { env })
    expect(table.stdout).to.match(/gitea-token/).and.match(/n8n-api-key/)
    for (const s of secrets) expect(readFileSync(file, 'utf8') + md.stdout + table.stdout).not.to.include(s)
  })

  it('given a bad format or an unwritable --out, then one line and the documented exit code', async () => {
    expectOneLineError(await runCli(['report', 'inventory', '--format', 'html'], { env }), 2)
    expectOneLineError(await runCli(['report', 'inventory', '--out', '/nonexistent/dir/x.csv'], { env }), 2, /--out \/nonexistent\/dir\/x\.csv: cannot write there \(ENOENT\)/)
  })
})
