import { readFileSync } from 'node:fs'

import { expect } from 'chai'

import { generateRawKey } from '../../src/core/api-keys/key-format.js'
import { expectOneLineError } from '../helpers/assert.js'
import type { CliResult } from '../helpers/cli.js'
import { runCli, runJson, spawnCli } from '../helpers/cli.js'
import { openTestSql, truncateAll } from '../helpers/db.js'
import { sarifValidator } from '../helpers/sarif.js'
import { commitAll, git, mutate, scratchDir } from '../helpers/seed-tree.js'
import { serveInProcess } from '../helpers/serve.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('momentry scan (CLI)', function () {
  this.timeout(60_000)
  const sql = openTestSql()
  let tree: ReturnType<typeof scratchDir>
  beforeEach(() => truncateAll(sql))
  afterEach(() => tree?.remove())
  after(() => sql.end())

  const issue = async (name: string) => {
    const r = await runJson(['api-key', 'create', '--name', name, '--type', 'service'])
    expect(r.code, r.stderr).to.equal(0)
    return { secret: r.json.secret as string, id: r.json.key.id as string }
  }
  const noSecret = (r: CliResult, ...secrets: string[]) => {
    for (const s of secrets) expect(r.stdout + r.stderr, 'a secret was printed').to.not.include(s)
  }

  it('given a tree with a live, a revoked, an unknown and a mutated key, then each format lists them without a secret and the exit status is 3', async () => {
    const live = await issue('in-config')
    const dead = await issue('old')
    expect((await runCli(['api-key', 'revoke', dead.id])).code).to.equal(0)
    const unknown = generateRawKey('user')
    tree = scratchDir('scan-cli')
    tree.write('config/app.yaml', `name: app\napi_key: ${live.secret}\n`)
    tree.write('old.env', `KEY=${dead.secret}\nOTHER=${unknown}\nTYPO=${mutate(live.secret)}\n`)
    const secrets = [live.secret, dead.secret, unknown, mutate(live.secret)]

    const json = await runJson(['scan', tree.dir])
    expect(json.code, json.stderr).to.equal(3)
    expect(json.json.live).to.equal(1)
    expect(json.json.items.map((f: any) => [f.location.path.replace(`${tree.dir}/`, ''), f.location.line, f.keyId, f.status])).to.deep.equal([
      ['config/app.yaml', 2, live.id, 'active'],
      ['old.env', 1, dead.id, 'revoked'],
      ['old.env', 2, null, 'unknown'],
    ])
    noSecret(json, ...secrets)

    const table = await spawnCli(['scan'], { cwd: tree.dir })
    expect(table.code, table.stderr).to.equal(3)
    expect(table.stdout).to.include('config/app.yaml:2').and.include(live.id).and.include(live.secret.slice(0, 12))
    expect(table.stderr).to.match(/^Scanned 2 file\(s\), 0\.0 MB\. 3 key finding\(s\)\. 1 live key finding\(s\): act now/m)
    noSecret(table, ...secrets)

    const sarif = await spawnCli(['scan', '--format', 'sarif', '--out', `${tree.dir}/out.sarif`, 'config', 'old.env'], { cwd: tree.dir })
    expect(sarif.code, sarif.stderr).to.equal(3)
    const file = readFileSync(`${tree.dir}/out.sarif`, 'utf8')
    for (const s of secrets) expect(file).to.not.include(s)
    const log = JSON.parse(file)
    const validate = sarifValidator()
    expect(validate(log), JSON.stringify(validate.errors)).to.equal(true)
    expect(log.runs[0].results.map((r: any) => [r.ruleId, r.level, r.locations[0].physicalLocation.artifactLocation.uri, r.locations[0].physicalLocation.region.startLine])).to.deep.equal([
      ['momentry/live-key', 'error', 'config/app.yaml', 2],
      ['momentry/dead-key', 'note', 'old.env', 1],
      ['momentry/unknown-key', 'warning', 'old.env', 2],
    ])
  })

  it('given a schema validator, when a SARIF log breaks the schema, then it is refused (the check can fail)', () => {
    const validate = sarifValidator()
    expect(validate({ version: '2.1.0', runs: [{ tool: { driver: {} }, results: [] }] })).to.equal(false)
  })

  it('given nothing live (only a revoked key), then the exit status is 0; given no key at all, the summary says so', async () => {
    const dead = await issue('old')
    expect((await runCli(['api-key', 'revoke', dead.id])).code).to.equal(0)
    tree = scratchDir('scan-cli-dead')
    tree.write('a.txt', dead.secret)
    const r = await runJson(['scan', tree.dir])
    expect(r.code, r.stderr).to.equal(0)
    expect(r.json.items).to.have.length(1)
    tree.write('a.txt', 'nothing here\n')
    const empty = await spawnCli(['scan', tree.dir])
    expect(empty.code).to.equal(0)
    expect(empty.stderr).to.match(/Scanned 1 file\(s\), 0\.0 MB\. No momentry key found\./)
  })

  for (const [args, pattern] of [
    [['--all'], /--all/],
    [['--revoke', '--rotate'], /--rotate|--revoke/],
    [['--git', 'a', 'b'], /at most one PATH/],
    [['/nonexistent/momentry'], /\/nonexistent\/momentry: cannot scan it \(ENOENT\)/],
    [['--format', 'xml'], /--format/],
    [['<a key as PATH>'], /a PATH given is a momentry key, not a file/],
  ] as const) {
    it(`given bad usage (${args.join(' ')}), then one line and exit 2`, async () => {
      const argv = args.map((a) => (a === '<a key as PATH>' ? generateRawKey('service') : a))
      const r = await spawnCli(['scan', ...argv])
      expectOneLineError(r, 2, pattern)
      noSecret(r, ...argv.filter((a) => a.startsWith('mtry_')))
    })
  }

  it('given a live key piped on stdin with --revoke, then a running serve refuses it, the reason names the line, and the exit status is still 3', async () => {
    const live = await issue('piped')
    const s = await serveInProcess({ RATE_LIMIT_MAX_ATTEMPTS: '1000000' })
    try {
      expect((await s.post('/v1/keys/verify', { key: live.secret })).json.valid).to.equal(true)
      const r = await runJson(['scan', '--stdin', '--revoke'], { input: `GET /x\nx-api-key: ${live.secret}\n` })
      expect(r.code, r.stderr).to.equal(3)
      expect(r.json.items[0]).to.include({ action: 'revoked', keyId: live.id })
      noSecret(r, live.secret)
      let answer: any
      for (const t0 = Date.now(); Date.now() - t0 < 5000; await sleep(5)) {
        answer = (await s.post('/v1/keys/verify', { key: live.secret })).json
        if (!answer.valid) break
      }
      expect(answer).to.deep.equal({ valid: false, code: 'REVOKED' })
      const [row] = await sql`select revoked_reason from api_keys where key_id = ${live.id}`
      expect(row!.revoked_reason).to.equal('leaked: found in stdin:2')
    } finally {
      await s.stop()
    }
  })

  it('given a live key in git history with --rotate, then the new key alone is on stdout, it validates, and the old one does not', async () => {
    const live = await issue('in-history')
    tree = scratchDir('scan-cli-git')
    git(tree.dir, 'init', '-q')
    tree.write('deploy.sh', `curl -H "x-api-key: ${live.secret}" https://api\n`)
    const commit = commitAll(tree.dir, 'deploy script')
    tree.write('deploy.sh', 'curl -H "x-api-key: $API_KEY" https://api\n')
    commitAll(tree.dir, 'read the key from the environment')
    const r = await spawnCli(['scan', '--git', '--rotate'], { cwd: tree.dir })
    expect(r.code, r.stderr).to.equal(3)
    const [line, ...rest] = r.stdout.trim().split('\n')
    expect(rest).to.deep.equal([])
    const [newId, newSecret] = line!.split(' ')
    expect(r.stderr).to.include(commit.slice(0, 12)).and.include('deploy.sh:1').and.include('rotated')
    expect(r.stderr).to.not.include(live.secret).and.not.include(newSecret!)
    expect((await runJson(['api-key', 'validate'], { input: newSecret })).json).to.include({ valid: true })
    expect((await runJson(['api-key', 'validate'], { input: live.secret })).json).to.include({ valid: false })
    expect((await runJson(['api-key', 'show', newId!])).json.key.rotatedFrom).to.equal(live.id)
  })
})
