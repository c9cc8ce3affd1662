// Embedded mode end to end, with no DATABASE_URL: momentry's own PostgreSQL. As root (CI) the
// server runs as the unprivileged user `momentry`. Each test has its own MOMENTRY_DATA_DIR:
// a fresh one where the first run is what is tested, else a copy of one initialised once
// (initdb costs seconds). Commands run in this process where a process adds nothing (the
// server they start is detached either way); they are spawned where the point is many
// processes sharing one server, or a process killed under it.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { expect } from 'chai'
import postgres from 'postgres'

import type { CliResult } from '../helpers/cli.js'
import { runJson, spawnCli } from '../helpers/cli.js'
import type { InProcessServe } from '../helpers/serve.js'
import { serveInProcess } from '../helpers/serve.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const spawned = (args: string[], env: Record<string, string>, input = ''): Promise<CliResult> => spawnCli([...args, '--json'], { env, input })

const pidIn = async (file: string) => Number((await readFile(file, 'utf8').catch(() => '')).split('\n')[0]) || undefined
const postmasterPid = (dataDir: string) => pidIn(join(dataDir, 'pg', 'postmaster.pid'))
const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** End a test's server at once: the directory is thrown away, so nothing needs a clean shutdown. */
async function hardStop(dataDir: string): Promise<void> {
  for (const file of [join(dataDir, 'pg-idle.pid'), join(dataDir, 'pg', 'postmaster.pid')]) {
    const pid = await pidIn(file)
    if (pid && alive(pid)) process.kill(pid, 'SIGKILL')
  }
  await rm(dataDir, { recursive: true, force: true })
}

describe('embedded mode (no DATABASE_URL: momentry’s own PostgreSQL)', function () {
  this.timeout(120_000)
  let template: string
  let dataDir: string
  let env: Record<string, string>
  const servers: InProcessServe[] = []
  const cli = (args: string[], input = '', extra: Record<string, string> = {}) => runJson(args, { env: { ...env, ...extra }, input })
  const base = (dir: string) => ({ DATABASE_URL: '', REDIS_URL: '', MOMENTRY_DATA_DIR: dir })

  before(async () => {
    // One data directory initialised and migrated, then stopped cleanly: the tests copy it.
    template = await mkdtemp(join(tmpdir(), 'mtry-emb-template-'))
    expect((await runJson(['db', 'start'], { env: base(template) })).code).to.equal(0)
    expect((await runJson(['db', 'stop'], { env: base(template) })).json).to.include({ stopped: true })
  })
  after(() => hardStop(template))

  /** A data directory of its own: fresh (nothing in it), or a copy of the initialised one. */
  const useDataDir = async (kind: 'fresh' | 'initialised') => {
    dataDir = await mkdtemp(join(tmpdir(), 'mtry-emb-'))
    if (kind === 'initialised') execFileSync('cp', ['-a', `${template}/.`, dataDir])
    env = base(dataDir)
  }
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()))
    await hardStop(dataDir)
  })

  it('given a fresh data directory, when a key is created, validated, rotated, revoked and listed, then each works and the first run says it initialised once', async () => {
    await useDataDir('fresh')
    const created = await cli(['api-key', 'create', '--name', 'first', '--type', 'service'])
    expect(created.code, created.stderr).to.equal(0)
    expect(created.stderr.match(/first run: creating the embedded PostgreSQL/g) ?? []).to.have.length(1)
    const { secret, key } = created.json
    expect((await cli(['api-key', 'validate'], secret)).json).to.include({ valid: true })
    const rotated = await cli(['api-key', 'rotate', key.id])
    expect(rotated.code, rotated.stderr).to.equal(0)
    expect(rotated.stderr).not.to.match(/first run/)
    expect((await cli(['api-key', 'revoke', rotated.json.key.id])).code).to.equal(0)
    expect((await cli(['api-key', 'validate'], rotated.json.secret)).json).to.deep.equal({ valid: false, code: 'REVOKED' })
    const list = await cli(['api-key', 'list'])
    expect(list.json.items.map((k: any) => k.status).sort()).to.deep.equal(['revoked', 'rotating'])
    const status = await cli(['db', 'status'])
    expect(status.json).to.deep.include({ mode: 'embedded', current: true })
    expect(status.json.embedded).to.include({ state: 'running', socket: join(dataDir, 'pg', '.s.PGSQL.5432'), dataDir })
    expect(status.json.embedded.sizeBytes).to.be.above(1_000_000)
  })

  it('given 10 processes started at once on a fresh data directory, then all succeed and exactly one initialises it', async () => {
    await useDataDir('fresh')
    const runs = await Promise.all(Array.from({ length: 10 }, (_, i) => spawned(['api-key', 'create', '--name', `racer-${i}`, '--type', 'service'], env)))
    expect(runs.map((r) => r.code), runs.map((r) => r.stderr).join('\n')).to.deep.equal(Array(10).fill(0))
    expect(runs.filter((r) => /first run: creating the embedded PostgreSQL/.test(r.stderr))).to.have.length(1)
    expect((await cli(['api-key', 'list'])).json.items).to.have.length(10)
  })

  it('given the server killed with -9 in the middle of writes, then the next command starts it again and no committed key is lost', async () => {
    await useDataDir('initialised')
    const committed: string[] = []
    for (let i = 0; i < 3; i++) committed.push((await cli(['api-key', 'create', '--name', `before-${i}`, '--type', 'service'])).json.key.id)
    const pid = (await postmasterPid(dataDir))!
    const writers = Array.from({ length: 4 }, (_, i) => spawned(['api-key', 'create', '--name', `during-${i}`, '--type', 'service'], env))
    await sleep(150)
    process.kill(pid, 'SIGKILL')
    for (const r of await Promise.all(writers)) if (r.code === 0) committed.push(r.json.key.id)
    const after = await cli(['api-key', 'create', '--name', 'after', '--type', 'service'])
    expect(after.code, after.stderr).to.equal(0)
    committed.push(after.json.key.id)
    expect(await postmasterPid(dataDir)).to.not.equal(pid)
    const listed = (await cli(['api-key', 'list', '--limit', '100'])).json.items.map((k: any) => k.id)
    for (const id of committed) expect(listed).to.include(id)
  })

  it('given MOMENTRY_EMBEDDED_IDLE=2s, then the server stops by itself after that long without a client, and the next command starts it again', async () => {
    await useDataDir('initialised')
    const idle = { MOMENTRY_EMBEDDED_IDLE: '2s' }
    expect((await cli(['api-key', 'create', '--name', 'idle', '--type', 'service'], '', idle)).code).to.equal(0)
    const pid = (await postmasterPid(dataDir))!
    expect(alive(pid)).to.equal(true)
    await sleep(1000)
    expect(alive(pid), 'still running within the idle time').to.equal(true)
    for (let t = 0; t < 60 && alive(pid); t++) await sleep(100)
    expect(alive(pid), 'stopped after the idle time').to.equal(false)
    expect((await cli(['db', 'status'])).json.embedded.state).to.equal('stopped')
    expect((await cli(['api-key', 'list'], '', idle)).json.items).to.have.length(1)
  })

  it('given db stop and db start, then they stop and start the server and say so; in servers mode they are a usage error', async () => {
    await useDataDir('initialised')
    expect((await cli(['db', 'start'])).json).to.include({ state: 'running' })
    const stopped = await cli(['db', 'stop'])
    expect(stopped.json).to.include({ state: 'stopped', stopped: true })
    expect((await cli(['db', 'stop'])).json).to.include({ stopped: false })
    const inServers = await cli(['db', 'stop'], '', { DATABASE_URL: process.env.DATABASE_URL! })
    expect(inServers.code).to.equal(2)
    expect(inServers.json.error.message).to.match(/DATABASE_URL is set/)
  })

  it('given a data directory of another PostgreSQL major version, then it is refused with the export/import path, and nothing is started', async () => {
    await useDataDir('initialised')
    await writeFile(join(dataDir, 'pg', 'PG_VERSION'), '17\n')
    const r = await cli(['api-key', 'list'])
    expect(r.code).to.equal(8)
    expect(r.json.error.message).to.match(/made by PostgreSQL 17.*db export.*db import/)
    expect(await postmasterPid(dataDir)).to.equal(undefined)
  })

  it('given serve in embedded mode without Redis, then a key revoked by a CLI run is refused at once, and lockout holds across the processes', async () => {
    await useDataDir('initialised')
    const admin = (await cli(['api-key', 'create', '--name', 'svc', '--type', 'service'])).json
    const s = await serveInProcess(env)
    servers.push(s)
    expect((await s.post('/v1/keys/verify', { key: admin.secret })).json.valid).to.equal(true)
    expect((await cli(['api-key', 'revoke', admin.key.id])).code).to.equal(0)
    await sleep(50)
    expect((await s.post('/v1/keys/verify', { key: admin.secret })).json).to.deep.equal({ valid: false, code: 'REVOKED' })
    const ip = '198.51.100.200'
    for (let i = 0; i < 5; i++) await cli(['api-key', 'validate', '--ip', ip], 'mtry_nope')
    const good = (await cli(['api-key', 'create', '--name', 'good', '--type', 'service'])).json.secret
    await sleep(50)
    expect((await s.post('/v1/keys/verify', { key: good, ip })).json.code).to.equal('RATE_LIMITED')
  })

  it('given keys, audit, usage, blacklist and a webhook in embedded mode, when exported and imported into a server database, then every key validates as before and nothing is lost', async () => {
    await useDataDir('initialised')
    const active = (await cli(['api-key', 'create', '--name', 'active', '--type', 'service', '--scopes', 'read'])).json
    const old = (await cli(['api-key', 'create', '--name', 'rotated', '--type', 'user'])).json
    const rotated = (await cli(['api-key', 'rotate', old.key.id])).json
    const revoked = (await cli(['api-key', 'create', '--name', 'revoked', '--type', 'integration'])).json
    await cli(['api-key', 'revoke', revoked.key.id])
    expect((await cli(['api-key', 'validate'], active.secret)).json.valid).to.equal(true)
    await cli(['blacklist', 'add', '203.0.113.0/24', '--reason', 'abuse'])
    await cli(['webhook', 'add', 'http://127.0.0.1:9/hook', '--events', 'key.revoked'])
    const file = join(dataDir, 'all.export')
    const exported = await cli(['db', 'export', file])
    expect(exported.code, exported.stderr).to.equal(0)
    expect(exported.json.source).to.equal('embedded')
    expect(exported.json.rows).to.include({ api_keys: 4, ip_blacklist: 1, webhooks: 1 })
    expect((await stat(file)).mode & 0o777).to.equal(0o600)
    const text = await readFile(file, 'utf8')
    for (const secret of [active.secret, old.secret, rotated.secret, revoked.secret]) expect(text).not.to.include(secret)

    const target = new URL(process.env.DATABASE_URL!)
    target.pathname = `/${target.pathname.slice(1)}_import`
    const server = { DATABASE_URL: target.toString() }
    try {
      const imported = await cli(['db', 'import', file], '', server)
      expect(imported.code, imported.stderr).to.equal(0)
      expect(imported.json.rows).to.deep.equal(exported.json.rows)
      const v = async (secret: string) => (await cli(['api-key', 'validate'], secret, server)).json
      expect(await v(active.secret)).to.include({ valid: true })
      expect((await v(old.secret)).key.rotating.replacedBy).to.equal(rotated.key.id)
      expect(await v(rotated.secret)).to.include({ valid: true })
      expect(await v(revoked.secret)).to.deep.equal({ valid: false, code: 'REVOKED' })
      expect((await cli(['api-key', 'validate', '--ip', '203.0.113.5'], active.secret, server)).json).to.deep.equal({ valid: false, code: 'BLACKLISTED' })
      const shown = await cli(['api-key', 'show', old.key.id], '', server)
      expect(shown.json.history.map((h: any) => h.action)).to.deep.equal(['key.create', 'key.rotate'])
      expect((await cli(['webhook', 'list'], '', server)).json.items).to.have.length(1)
      // New rows continue after the imported ids.
      expect((await cli(['api-key', 'create', '--name', 'after', '--type', 'service'], '', server)).code).to.equal(0)
      const again = await cli(['db', 'import', file], '', server)
      expect(again.code).to.equal(6)
      expect(again.json.error.message).to.match(/already holds momentry data/)
      const replaced = await cli(['db', 'import', file, '--replace'], '', server)
      expect(replaced.code, replaced.stderr).to.equal(0)
      expect((await cli(['api-key', 'list'], '', server)).json.items).to.have.length(4)
    } finally {
      const admin = new URL(target)
      admin.pathname = '/postgres'
      const sql = postgres(admin.toString(), { max: 1, onnotice: () => {} })
      await sql`drop database if exists ${sql(target.pathname.slice(1))} with (force)`
      await sql.end()
    }
  })

  it('given a file that is not an export, or is missing, when imported, then one usage line and nothing is loaded', async () => {
    await useDataDir('fresh')
    const bogus = join(dataDir, 'bogus.export')
    await writeFile(bogus, 'hello\n')
    const r = await cli(['db', 'import', bogus])
    expect(r.code).to.equal(2)
    expect(r.json.error.message).to.match(/is not a whole momentry export/)
    expect((await cli(['db', 'import', join(dataDir, 'missing.export')])).json.error.message).to.match(/cannot read .*ENOENT/)
  })

  it('given root and a MOMENTRY_DATA_DIR inside root’s 0700 home, then it says the server’s user cannot reach it (exit 8)', async function () {
    if (process.getuid?.() !== 0) this.skip()
    await useDataDir('fresh')
    const inHome = join('/root', `.mtry-test-${process.pid}`)
    try {
      const r = await cli(['api-key', 'list'], '', { MOMENTRY_DATA_DIR: inHome })
      expect(r.code).to.equal(8)
      expect(r.json.error.message).to.match(/cannot reach .* \(\/root is mode 0700\).*\/var\/lib\/momentry/)
      expect(existsSync(join(inHome, 'pg'))).to.equal(false)
    } finally {
      await rm(inHome, { recursive: true, force: true })
    }
  })
})
