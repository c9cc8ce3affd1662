import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { expect } from 'chai'

import { expectJsonError, expectOneLineError } from '../helpers/assert.js'
import { runCli, runJson } from '../helpers/cli.js'
import type { FakeGitea } from '../helpers/fake-gitea.js'
import { startFakeGitea } from '../helpers/fake-gitea.js'
import type { FakeN8n } from '../helpers/fake-n8n.js'
import { startFakeN8n } from '../helpers/fake-n8n.js'

describe('auth login/status/logout and doctor with the file store', function () {
  this.timeout(60_000)
  let gitea: FakeGitea
  let n8n: FakeN8n
  let dataDir: string
  let env: Record<string, string>

  beforeEach(async () => {
    gitea = await startFakeGitea()
    n8n = await startFakeN8n()
    dataDir = mkdtempSync(join(tmpdir(), 'momentry-auth-'))
    env = { MOMENTRY_DATA_DIR: join(dataDir, 'data'), MOMENTRY_HTTP_TIMEOUT_SECONDS: '1' }
  })
  afterEach(async () => {
    await Promise.all([gitea.close(), n8n.close()])
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('given the right password on stdin, when `auth login gitea` runs, then it is verified, stored in a 0600 file, shown by `auth status` without the password, used by gitea commands, and removed by logout', async () => {
    const r = await runJson(['auth', 'login', 'gitea', '--url', `${gitea.url}/`, '--username', 'admin'], { env, input: 'admin-pw\n' })
    expect(r.code, r.stderr).to.equal(0)
    expect(r.json).to.deep.include({ service: 'gitea', url: gitea.url, username: 'admin', store: 'file', overriddenByEnv: false })
    const file = join(dataDir, 'data', 'credentials.json')
    expect(statSync(file).mode & 0o777).to.equal(0o600)
    expect(JSON.parse(readFileSync(file, 'utf8')).gitea).to.deep.equal({ url: gitea.url, username: 'admin', password: 'admin-pw' })

    const status = await runJson(['auth', 'status'], { env })
    expect(status.json.services).to.deep.equal([
      { service: 'gitea', source: 'file', url: gitea.url, urlSource: 'stored', username: 'admin' },
      { service: 'n8n', source: 'none', url: 'http://localhost:5678', urlSource: 'default', username: null },
    ])
    expect(status.stdout).not.to.include('admin-pw')

    const created = await runJson(['gitea', 'create', '--name', 'via-stored', '--scopes', 'read:user'], { env })
    expect(created.code, created.stderr).to.equal(0) // the stored URL and password are used

    const out = await runJson(['auth', 'logout', 'gitea'], { env })
    expect(out.json).to.deep.equal({ service: 'gitea', removed: ['file'] })
    expect((await runJson(['auth', 'status'], { env })).json.services[0].source).to.equal('none')
    expect((await runJson(['auth', 'logout', 'gitea'], { env })).json.removed).to.deep.equal([])
  })

  it('given a wrong password, when `auth login` runs, then it exits 7 with one line and stores nothing', async () => {
    const r = await runCli(['auth', 'login', 'gitea', '--url', gitea.url, '--username', 'admin'], { env, input: 'wrong\n' })
    expectOneLineError(r, 7, /Gitea refused the password for admin/)
    expect(r.stderr).not.to.include('wrong\n')
    const n = await runJson(['auth', 'login', 'n8n', '--url', n8n.url, '--email', 'owner@example.com'], { env, input: 'Nope-pw1' })
    expectJsonError(n, 7, 'SERVICE_AUTH_FAILED')
    expect(() => statSync(join(dataDir, 'data', 'credentials.json'))).to.throw()
  })

  it('given no user flag and no terminal, or an empty password, then login is a usage error (exit 2)', async () => {
    expectOneLineError(await runCli(['auth', 'login', 'gitea', '--url', gitea.url], { env, input: 'pw' }), 2, /--username/)
    expectOneLineError(await runCli(['auth', 'login', 'n8n', '--url', n8n.url, '--email', 'owner@example.com'], { env, input: '' }), 2, /no password on stdin/)
    expectOneLineError(await runCli(['auth', 'login', 'jira'], { env }), 2)
  })

  it('given n8n credentials stored and env overrides for Gitea, then status says where each comes from and doctor checks both services', async () => {
    const login = await runJson(['auth', 'login', 'n8n', '--url', n8n.url, '--email', 'owner@example.com'], { env, input: 'Owner-pw1\n' })
    expect(login.code, login.stderr).to.equal(0)
    const envGitea = { ...env, GITEA_URL: gitea.url, GITEA_USERNAME: 'admin', GITEA_PASSWORD: 'admin-pw' }
    const status = await runJson(['auth', 'status'], { env: envGitea })
    expect(status.json.services.map((s: any) => [s.service, s.source])).to.deep.equal([['gitea', 'env'], ['n8n', 'file']])

    const doctor = await runJson(['doctor'], { env: envGitea })
    expect(doctor.code).to.equal(0)
    const byName = Object.fromEntries(doctor.json.checks.map((c: any) => [c.name, c]))
    expect(byName.gitea).to.include({ status: 'ok' })
    expect(byName.n8n).to.include({ status: 'ok' })
    expect(byName.keychain.detail).to.match(/MOMENTRY_CREDENTIAL_STORE=file/)

    const broken = await runJson(['doctor'], { env: { ...envGitea, GITEA_PASSWORD: 'bad' } })
    // Only a third party fails: exit 7 (SPEC §12), not 8.
    expect(broken.code).to.equal(7)
    const g = broken.json.checks.find((c: any) => c.name === 'gitea')
    expect(g.status).to.equal('fail')
    expect(g.fix).to.match(/momentry auth login gitea/)
    expect(broken.stdout).not.to.include('"bad"')
  })
})
