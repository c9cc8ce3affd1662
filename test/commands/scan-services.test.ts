// `momentry scan` with tracked Gitea tokens and n8n API keys, end to end against the contract
// fakes: found and confirmed, every format without any part of a secret, exit 3, --revoke
// deleting at the fake, --rotate printing the new secret alone, an unanswering Gitea.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { expect } from 'chai'

import type { CliResult } from '../helpers/cli.js'
import { runJson, spawnCli } from '../helpers/cli.js'
import { openTestSql, truncateAll } from '../helpers/db.js'
import type { FakeGitea } from '../helpers/fake-gitea.js'
import { startFakeGitea } from '../helpers/fake-gitea.js'
import type { FakeN8n } from '../helpers/fake-n8n.js'
import { startFakeN8n } from '../helpers/fake-n8n.js'
import { sarifValidator } from '../helpers/sarif.js'
import { scratchDir } from '../helpers/seed-tree.js'

describe('momentry scan with tracked Gitea tokens and n8n keys (CLI, contract fakes)', function () {
  this.timeout(60_000)
  const sql = openTestSql()
  let gitea: FakeGitea
  let n8n: FakeN8n
  let dataDir: string
  let env: Record<string, string>
  let tree: ReturnType<typeof scratchDir>

  beforeEach(async () => {
    await truncateAll(sql)
    gitea = await startFakeGitea()
    n8n = await startFakeN8n()
    dataDir = mkdtempSync(join(tmpdir(), 'momentry-scan-services-'))
    env = {
      GITEA_URL: gitea.url,
      GITEA_USERNAME: 'admin',
      GITEA_PASSWORD: 'admin-pw',
      N8N_URL: n8n.url,
      N8N_EMAIL: 'owner@example.com',
      N8N_PASSWORD: 'Owner-pw1',
      MOMENTRY_DATA_DIR: dataDir,
      MOMENTRY_HTTP_TIMEOUT_SECONDS: '1',
    }
    tree = scratchDir('scan-services-cli')
  })
  afterEach(async () => {
    await gitea.close()
    await n8n.close()
    rmSync(dataDir, { recursive: true, force: true })
    tree.remove()
  })
  after(() => sql.end())

  /** A tracked Gitea token and n8n key, planted in the tree beside lookalikes ending the same way. */
  async function plant() {
    const g = await runJson(['gitea', 'create', '--user', 'alice', '--name', 'deploy', '--scopes', 'read:user'], { env })
    expect(g.code, g.stderr).to.equal(0)
    const k = await runJson(['n8n', 'create', '--label', 'ci', '--scopes', 'workflow:read'], { env })
    expect(k.code, k.stderr).to.equal(0)
    const token = g.json.secret as string
    const key = k.json.secret as string
    const hexLookalike = randomBytes(16).toString('hex') + token.slice(-8)
    const jwtLookalike = `eyJhbGciOiJIUzI1NiJ9.eyJ4IjoxfQ.${randomBytes(20).toString('base64url')}${key.slice(-4)}`
    tree.write('deploy/ci.sh', `#!/bin/sh\nexport GITEA_TOKEN=${token}\n`)
    tree.write('flows/export.json', `{"apiKey": "${key}"}\n`)
    tree.write('CHANGELOG.md', `fixed in ${hexLookalike}\n${jwtLookalike}\n`)
    return { token, key, tokenId: String(g.json.token.id), keyId: k.json.key.id as string, secrets: [token, key, hexLookalike, jwtLookalike] }
  }

  const noPartOf = (r: CliResult, secrets: string[]) => {
    const out = r.stdout + r.stderr
    for (const s of secrets) {
      expect(out, 'a secret was printed').to.not.include(s)
      expect(out, 'a secret tail was printed').to.not.include(s.slice(-8))
    }
  }

  it('given a tracked token and key in a tree, then json, table and SARIF list them confirmed, without any part of a secret, and the exit status is 3', async () => {
    const p = await plant()
    const json = await runJson(['scan', tree.dir], { env })
    expect(json.code, json.stderr).to.equal(3)
    expect(json.json.items.map((f: any) => [f.credential, f.location.path.replace(`${tree.dir}/`, ''), f.location.line, f.keyId, f.name, f.user, f.status])).to.deep.equal([
      ['gitea', 'deploy/ci.sh', 2, p.tokenId, 'deploy', 'alice', 'confirmed'],
      ['n8n', 'flows/export.json', 1, p.keyId, 'ci', 'owner@example.com', 'confirmed'],
    ])
    expect(json.json).to.include({ live: 2, unconfirmed: 0 })
    expect(json.json.candidates).to.deep.equal({ checked: 4, confirmed: 2, refused: 2, unconfirmed: 0 })
    noPartOf(json, p.secrets)

    const table = await spawnCli(['scan'], { cwd: tree.dir, env })
    expect(table.code, table.stderr).to.equal(3)
    expect(table.stdout).to.include('deploy/ci.sh:2').and.include('gitea-token').and.include('n8n-api-key').and.include(p.token.slice(0, 4))
    expect(table.stderr).to.include('Asked Gitea/n8n about 4 candidate(s): 2 confirmed, 2 refused, 0 could not be asked.')
    noPartOf(table, p.secrets)

    const sarif = await spawnCli(['scan', '--format', 'sarif', '--out', `${dataDir}/out.sarif`, '.'], { cwd: tree.dir, env })
    expect(sarif.code, sarif.stderr).to.equal(3)
    const file = readFileSync(`${dataDir}/out.sarif`, 'utf8')
    for (const s of p.secrets) expect(file).to.not.include(s).and.not.include(s.slice(-8))
    const log = JSON.parse(file)
    const validate = sarifValidator()
    expect(validate(log), JSON.stringify(validate.errors)).to.equal(true)
    expect(log.runs[0].results.map((r: any) => [r.ruleId, r.level, r.locations[0].physicalLocation.artifactLocation.uri])).to.deep.equal([
      ['momentry/live-gitea-token', 'error', 'deploy/ci.sh'],
      ['momentry/live-n8n-key', 'error', 'flows/export.json'],
    ])
  })

  it('given only lookalikes of tracked credentials, then nothing is reported and the exit status is 0', async () => {
    const p = await plant()
    tree.write('deploy/ci.sh', 'export GITEA_TOKEN=$TOKEN\n')
    tree.write('flows/export.json', '{}\n')
    const r = await runJson(['scan', tree.dir], { env })
    expect(r.code, r.stderr).to.equal(0)
    expect(r.json.items).to.deep.equal([])
    noPartOf(r, p.secrets)
  })

  it('given --revoke, then the token and the key are deleted at the fakes and the exit status is still 3', async () => {
    const p = await plant()
    const r = await runJson(['scan', tree.dir, '--revoke'], { env })
    expect(r.code, r.stderr).to.equal(3)
    expect(r.json.items.map((f: any) => [f.credential, f.action])).to.deep.equal([
      ['gitea', 'deleted'],
      ['n8n', 'deleted'],
    ])
    expect(gitea.tokens).to.deep.equal([])
    expect(n8n.keys).to.deep.equal([])
    noPartOf(r, p.secrets)
    const again = await runJson(['scan', tree.dir], { env })
    expect(again.code, again.stderr).to.equal(0)
    expect(again.json.items).to.deep.equal([])
  })

  it('given --rotate, then the new token and key alone are on stdout as "<service>:<id> <secret>", and the findings (stderr) hold no secret', async () => {
    const p = await plant()
    // n8n's JWTs have a one-second iat: a replacement in the same second would be identical.
    await new Promise((r) => setTimeout(r, 1100))
    const r = await spawnCli(['scan', '--rotate'], { cwd: tree.dir, env })
    expect(r.code, r.stderr).to.equal(3)
    const lines = r.stdout.trim().split('\n')
    expect(lines).to.have.length(2)
    const [giteaLine, n8nLine] = lines
    expect(giteaLine).to.match(/^gitea:\d+ [0-9a-f]{40}$/)
    expect(n8nLine).to.match(/^n8n:\S+ eyJ\S+$/)
    expect(gitea.tokens.map((t) => t.sha1)).to.deep.equal([giteaLine!.split(' ')[1]])
    expect(n8n.keys.map((k) => k.rawApiKey)).to.deep.equal([n8nLine!.split(' ')[1]])
    expect(r.stderr).to.include('rotated')
    for (const s of [...p.secrets, giteaLine!.split(' ')[1]!, n8nLine!.split(' ')[1]!]) expect(r.stderr).to.not.include(s)
  })

  it('given Gitea never answers, then the token is unconfirmed, nothing crashes, the summary says so and the exit status is 3', async () => {
    const p = await plant()
    gitea.fault = 'hang'
    const r = await spawnCli(['scan', '--revoke'], { cwd: tree.dir, env })
    expect(r.code, r.stderr).to.equal(3)
    expect(r.stderr).to.include('could not be confirmed')
    expect(r.stdout).to.include('unconfirmed')
    noPartOf(r, p.secrets)
    gitea.fault = 'none'
    expect(gitea.tokens).to.have.length(1)
    expect(n8n.keys).to.deep.equal([])
  })
})
