import { randomBytes } from 'node:crypto'
import { readdir } from 'node:fs/promises'

import { expect } from 'chai'
import postgres from 'postgres'

import { migrationsDir } from '../../src/core/db/migrate.js'
import { expectOneLineError } from '../helpers/assert.js'
import { runCli, runJson } from '../helpers/cli.js'
import { testDatabaseUrl } from '../helpers/db.js'

describe('db, doctor and config commands', () => {
  it('given the migrated test database, when `db migrate` runs again, then nothing is applied and status is current', async () => {
    const m = await runJson(['db', 'migrate'])
    expect(m.code).to.equal(0)
    expect(m.json.applied).to.deep.equal([])
    expect(m.json.createdDatabase).to.equal(false)
    const s = await runJson(['db', 'status'])
    expect(s.json.current).to.equal(true)
    expect(s.json.migrations[0]).to.include({ id: 1, name: '0001_init.sql', state: 'applied' })
  })

  it('given a database that does not exist yet, when `db migrate` runs, then it creates it and applies every migration', async () => {
    const url = new URL(testDatabaseUrl())
    const name = `${url.pathname.slice(1)}_fresh_${randomBytes(3).toString('hex')}`
    url.pathname = `/${name}`
    try {
      const r = await runJson(['db', 'migrate'], { env: { DATABASE_URL: url.toString() } })
      expect(r.code, r.stdout + r.stderr).to.equal(0)
      expect(r.json).to.include({ createdDatabase: true, database: name })
      const shipped = (await readdir(migrationsDir())).filter((n) => /^\d{4}_.+\.sql$/.test(n)).sort()
      expect(shipped[0]).to.equal('0001_init.sql')
      expect(r.json.applied).to.deep.equal(shipped)
      const created = await runJson(['api-key', 'create', '--name', 'fresh', '--type', 'user'], { env: { DATABASE_URL: url.toString() } })
      expect(created.code).to.equal(0)
    } finally {
      const admin = postgres(testDatabaseUrl(), { max: 1, onnotice: () => {} })
      await admin`drop database if exists ${admin(name)} with (force)`
      await admin.end()
    }
  })

  it('given PostgreSQL and Redis up, when `doctor` runs, then every check passes in servers mode', async () => {
    const r = await runJson(['doctor'])
    expect(r.code).to.equal(0)
    expect(r.json.mode).to.equal('servers')
    expect(r.json.checks.map((c: any) => [c.name, c.status])).to.deep.equal([
      ['config', 'ok'],
      ['postgres', 'ok'],
      ['migrations', 'ok'],
      ['webhooks', 'ok'],
      ['redis', 'ok'],
      ['keychain', 'ok'],
      ['gitea', 'warn'],
      ['n8n', 'warn'],
    ])
  })

  it('given Redis unreachable, when `doctor` runs, then it fails that check with a fix and exits 8', async () => {
    const r = await runJson(['doctor'], { env: { REDIS_URL: 'redis://127.0.0.1:1' } })
    expect(r.code).to.equal(8)
    const redis = r.json.checks.find((c: any) => c.name === 'redis')
    expect(redis.status).to.equal('fail')
    expect(redis.fix).to.match(/REDIS_URL/)
  })

  it('given no REDIS_URL, when `doctor` runs, then it says the mode plainly and still passes', async () => {
    const r = await runJson(['doctor'], { env: { REDIS_URL: '' } })
    expect(r.code).to.equal(0)
    expect(r.json).to.include({ mode: 'servers', redis: false })
    expect(r.json.checks.find((c: any) => c.name === 'redis')).to.include({ status: 'warn' })
  })

  it('given DATABASE_URL unset, when `doctor` runs, then it reports embedded mode and the embedded server with its pid, socket and data directory', async () => {
    const r = await runJson(['doctor'], { env: { DATABASE_URL: '' } })
    expect(r.code, r.stdout + r.stderr).to.equal(0)
    expect(r.json).to.include({ mode: 'embedded', redis: true })
    expect(r.json.checks[1]).to.include({ name: 'postgres', status: 'ok' })
    expect(r.json.checks[1].detail).to.match(/^embedded PostgreSQL 18\.\d+ .*pid \d+, socket \/.*\/pg\/\.s\.PGSQL\.5432, data \//)
    expect(r.json.checks.find((c: any) => c.name === 'redis').status).to.equal('ok')
    expect((await runJson(['db', 'stop'], { env: { DATABASE_URL: '' } })).json).to.include({ stopped: true })
  })

  it('given PostgreSQL unreachable, when `doctor` runs in text mode, then the line names the fix and it exits 8', async () => {
    const r = await runCli(['doctor'], { env: { DATABASE_URL: 'postgres://x@127.0.0.1:1/x' } })
    expect(r.code).to.equal(8)
    expect(r.stdout).to.match(/✗ postgres .*ECONNREFUSED.*momentry doctor|✗ postgres .*Check that PostgreSQL is running/)
  })

  it('given secrets in the environment, when `config` runs, then they are redacted and sources shown', async () => {
    const env = { DATABASE_URL: 'postgres://u:topsecret@db:5432/m', GITEA_PASSWORD: 'gitea-pw', MOMENTRY_AUDIT_KEY: randomBytes(32).toString('base64') }
    const r = await runJson(['config'], { env })
    expect(r.code).to.equal(0)
    expect(r.stdout).not.to.include('topsecret').and.not.include('gitea-pw').and.not.include(env.MOMENTRY_AUDIT_KEY)
    const byName = Object.fromEntries(r.json.items.map((e: any) => [e.name, e]))
    expect(byName.DATABASE_URL).to.include({ value: 'postgres://u:***@db:5432/m', source: 'env' })
    expect(byName.GITEA_PASSWORD).to.include({ value: '***', source: 'env' })
    expect(byName.CACHE_TTL_SECONDS).to.include({ value: '300', source: 'default' })
  })

  it('given a bad variable, when another command runs, then exit 8 with one line naming it', async () => {
    expectOneLineError(await runCli(['api-key', 'list'], { env: { RATE_LIMIT_MAX_ATTEMPTS: '-3' } }), 8, /RATE_LIMIT_MAX_ATTEMPTS is invalid/)
  })
})
