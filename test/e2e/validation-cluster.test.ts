// Invalidation and lockout shared between serve instances and CLI runs, over PostgreSQL and
// Redis. Real processes where the process is the point: two serve instances proving that a
// revocation crosses processes (with Redis and with NOTIFY alone), the drain on SIGTERM, a
// server that must not spin or crash, the 20 validations at once (processes racing for one
// lockout counter) and the revocation by a CLI run that must reach serve before that process
// has exited. Elsewhere serve runs in this process (serveInProcess: its own core, pools and
// LISTEN connection, so changes still reach it only through PostgreSQL) and so does the CLI.
import type { ChildProcess } from 'node:child_process'
import { spawn } from 'node:child_process'
import { randomInt } from 'node:crypto'

import { expect } from 'chai'

import { runCli, runJson, spawnCli, spawnJson } from '../helpers/cli.js'
import { openTestSql, truncateAll } from '../helpers/db.js'
import { serveInProcess, startServe } from '../helpers/serve.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** A fresh documentation-range IP per test, so lockout counters never carry over. */
const freshIp = () => `198.51.${randomInt(0, 255)}.${randomInt(1, 254)}`

async function createKey(...extra: string[]): Promise<{ secret: string; id: string }> {
  const r = await runJson(['api-key', 'create', '--name', 'cluster', '--type', 'service', ...extra])
  expect(r.code, r.stderr).to.equal(0)
  return { secret: r.json.secret, id: r.json.key.id }
}

describe('validation across processes (real serve instances, NOTIFY and Redis)', function () {
  this.timeout(60_000)
  const sql = openTestSql()
  const servers: { stop(): Promise<unknown> }[] = []
  beforeEach(async () => {
    await truncateAll(sql)
    // Other files of the run fail validations from 127.0.0.1 too: start each test with it not locked out.
    await runCli(['lockout', 'clear', '--all'])
  })
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()))
  })
  after(() => sql.end())

  it('given a warm serve instance, when a key is revoked by a separate CLI run, then the server refuses it right after the CLI exits', async () => {
    const victim = await createKey()
    const s = await serveInProcess()
    servers.push(s)
    expect((await s.post('/v1/keys/verify', { key: victim.secret })).json.valid).to.equal(true)
    expect((await spawnCli(['api-key', 'revoke', victim.id])).code).to.equal(0)
    await sleep(20)
    expect((await s.post('/v1/keys/verify', { key: victim.secret })).json).to.deep.equal({ valid: false, code: 'REVOKED' })
  })

  it('given a warm serve instance, when a key is disabled, enabled and rotated by CLI runs, then each change reaches it at once', async () => {
    const victim = await createKey()
    const s = await serveInProcess()
    servers.push(s)
    const verify = async (secret = victim.secret) => (await s.post('/v1/keys/verify', { key: secret })).json
    expect((await verify()).valid).to.equal(true)
    expect((await runCli(['api-key', 'disable', victim.id, '--reason', 'test'])).code).to.equal(0)
    await sleep(20)
    expect(await verify()).to.deep.equal({ valid: false, code: 'DISABLED' })
    expect((await runCli(['api-key', 'enable', victim.id])).code).to.equal(0)
    await sleep(20)
    expect((await verify()).valid).to.equal(true)
    const rotated = await runJson(['api-key', 'rotate', victim.id, '--force'])
    expect(rotated.code, rotated.stderr).to.equal(0)
    await sleep(20)
    expect((await verify()).valid).to.equal(false)
    expect((await verify(rotated.json.secret)).valid).to.equal(true)
  })

  it('given 20 processes sending bad keys from one IP at once, then exactly RATE_LIMIT_MAX_ATTEMPTS get an answer and the rest are rate-limited', async () => {
    const ip = freshIp()
    const runs = await Promise.all(Array.from({ length: 20 }, (_, i) => spawnJson(['api-key', 'validate', '--ip', ip], { input: `mtry_svc_guess${i}` })))
    const codes = runs.map((r) => r.code)
    expect(codes.filter((c) => c === 3), JSON.stringify(runs.map((r) => r.stdout + r.stderr))).to.have.length(5)
    expect(codes.filter((c) => c === 4)).to.have.length(15)
    for (const r of runs.filter((x) => x.code === 4)) expect(r.json.code).to.equal('RATE_LIMITED')
    const audit = await sql`select count(*)::int as n from api_key_audit_log where action = 'ip.lockout' and ip_address = ${ip}::inet`
    expect(audit[0]!.n).to.equal(1)
  })

  it('given a locked-out IP, when a valid key is sent from it, then RATE_LIMITED with a retry-after (CLI exit 4, serve too)', async () => {
    const ip = freshIp()
    const good = await createKey()
    for (let i = 0; i < 5; i++) await runJson(['api-key', 'validate', '--ip', ip], { input: 'mtry_nope' })
    const r = await runJson(['api-key', 'validate', '--ip', ip], { input: good.secret })
    expect(r.code).to.equal(4)
    expect(r.json.code).to.equal('RATE_LIMITED')
    expect(r.json.retryAfterSeconds).to.be.within(890, 900)
    const s = await serveInProcess()
    servers.push(s)
    expect((await s.post('/v1/keys/verify', { key: good.secret, ip })).json.code).to.equal('RATE_LIMITED')
    expect((await s.post('/v1/keys/verify', { key: good.secret, ip: freshIp() })).json.valid).to.equal(true)
  })

  it('given a running server, when an IP range is blacklisted by the CLI, then a valid key from inside it is refused at once, and accepted again after removal', async () => {
    const good = await createKey()
    const s = await serveInProcess()
    servers.push(s)
    expect((await s.post('/v1/keys/verify', { key: good.secret, ip: '203.0.113.9' })).json.valid).to.equal(true)
    expect((await runCli(['blacklist', 'add', '203.0.113.0/24', '--reason', 'test'])).code).to.equal(0)
    await sleep(50)
    expect((await s.post('/v1/keys/verify', { key: good.secret, ip: '203.0.113.9' })).json).to.deep.equal({ valid: false, code: 'BLACKLISTED' })
    const cli = await runJson(['api-key', 'validate', '--ip', '203.0.113.200'], { input: good.secret })
    expect([cli.code, cli.json.code]).to.deep.equal([4, 'BLACKLISTED'])
    expect((await runCli(['blacklist', 'remove', '203.0.113.0/24'])).code).to.equal(0)
    await sleep(50)
    expect((await s.post('/v1/keys/verify', { key: good.secret, ip: '203.0.113.9' })).json.valid).to.equal(true)
  })

  it('given a blacklist entry expiring in 30 days, when a server reloads the blacklist, then it does not spin on an overflowing expiry timer', async () => {
    const s = await startServe()
    servers.push(s)
    expect((await runCli(['blacklist', 'add', '203.0.113.0/24', '--expires-in', '30d'])).code).to.equal(0)
    const commits = async () => Number((await sql`select xact_commit from pg_stat_database where datname = current_database()`)[0]!.xact_commit)
    await sleep(300)
    const before = await commits()
    await sleep(1500)
    // pg_stat counters are updated with a small delay; a spinning reload commits thousands per second.
    expect((await commits()) - before).to.be.below(100)
    expect(s.stderr()).not.to.match(/TimeoutOverflowWarning/)
    expect((await s.post('/v1/keys/verify', { key: 'x', ip: '203.0.113.9' })).json.code).to.equal('BLACKLISTED')
  })

  it('given validations buffered in a server, when it gets SIGTERM, then every one is in key_usage_minute and last_used_at is set', async () => {
    const k = await createKey()
    const s = await startServe()
    for (let i = 0; i < 30; i++) await s.post('/v1/keys/verify', { key: k.secret, ip: '192.0.2.10' })
    await s.post('/v1/keys/verify', { key: k.secret, requiredScopes: ['nope'], ip: '192.0.2.11' })
    expect(await s.stop('SIGTERM')).to.equal(0)
    const [row] = await sql`select sum(ok_count)::int as ok, sum(fail_count)::int as fail from key_usage_minute where key_id = ${k.id}`
    expect(row).to.deep.equal({ ok: 30, fail: 1 })
    const [key] = await sql`select last_used_at from api_keys where key_id = ${k.id}`
    expect(key!.last_used_at).to.be.instanceOf(Date)
  })

  describe('without Redis (no REDIS_URL): lockout counters in PostgreSQL', () => {
    const noRedis = { REDIS_URL: '' }

    it('given 20 processes sending bad keys from one IP at once, then exactly RATE_LIMIT_MAX_ATTEMPTS get an answer, the rest are rate-limited, and the lockout is audited once', async () => {
      const ip = freshIp()
      const runs = await Promise.all(Array.from({ length: 20 }, (_, i) => spawnJson(['api-key', 'validate', '--ip', ip], { input: `mtry_svc_guess${i}`, env: noRedis })))
      const codes = runs.map((r) => r.code)
      expect(codes.filter((c) => c === 3), JSON.stringify(runs.map((r) => r.stdout + r.stderr))).to.have.length(5)
      expect(codes.filter((c) => c === 4)).to.have.length(15)
      const audit = await sql`select count(*)::int as n from api_key_audit_log where action = 'ip.lockout' and ip_address = ${ip}::inet`
      expect(audit[0]!.n).to.equal(1)
    })

    it('given five failures in separate CLI runs, then a valid key from that IP is refused by the next run and by a server started later, and stats counts the IP', async () => {
      const ip = freshIp()
      const good = await createKey()
      for (let i = 0; i < 5; i++) expect((await runJson(['api-key', 'validate', '--ip', ip], { input: 'mtry_nope', env: noRedis })).code).to.equal(3)
      const r = await runJson(['api-key', 'validate', '--ip', ip], { input: good.secret, env: noRedis })
      expect(r.code).to.equal(4)
      expect(r.json).to.include({ code: 'RATE_LIMITED' })
      expect(r.json.retryAfterSeconds).to.be.within(890, 900)
      const other = await runJson(['api-key', 'validate', '--ip', freshIp()], { input: good.secret, env: noRedis })
      expect(other.code).to.equal(0)
      const s = await serveInProcess(noRedis)
      servers.push(s)
      expect((await s.post('/v1/keys/verify', { key: good.secret, ip })).json.code).to.equal('RATE_LIMITED')
      const stats = await runJson(['api-key', 'stats'], { env: noRedis })
      expect(stats.json.lockedOutIps).to.equal(1)
    })
  })

  describe('when Redis goes away mid-run', () => {
    let redis: ChildProcess | undefined
    const port = 16_400 + randomInt(0, 500)
    const startRedis = async () => {
      redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
      for (let i = 0; i < 50; i++) {
        const ok = await fetch(`http://127.0.0.1:${port}`).then(
          () => true,
          (e: any) => e?.cause?.code !== 'ECONNREFUSED',
        )
        if (ok) return
        await sleep(100)
      }
    }
    afterEach(() => redis?.kill('SIGKILL'))

    const waitForLine = async (s: { stderr(): string }, pattern: RegExp, ms: number) => {
      for (const t0 = performance.now(); performance.now() - t0 < ms; await sleep(100)) if (pattern.test(s.stderr())) return
      throw new Error(`no ${pattern} within ${ms} ms: ${s.stderr()}`)
    }

    it('given Redis down when serve starts, then a revocation reaches it at once all the same (NOTIFY), and when Redis comes up failures are counted there again', async () => {
      const victim = await createKey()
      const other = await createKey()
      const env = { REDIS_URL: `redis://127.0.0.1:${port}` }
      const s = await serveInProcess(env)
      servers.push(s)
      for (const k of [victim, other]) expect((await s.post('/v1/keys/verify', { key: k.secret })).json.valid).to.equal(true)
      expect(s.stderr()).to.match(/retrying every 5 s/)
      expect((await fetch(`${s.url}/readyz`)).status).to.equal(503)
      expect((await runCli(['api-key', 'revoke', victim.id], { env })).code).to.equal(0)
      await sleep(50)
      expect((await s.post('/v1/keys/verify', { key: victim.secret })).json).to.deep.equal({ valid: false, code: 'REVOKED' })
      await startRedis()
      await waitForLine(s, /Redis is reachable: failed attempts are counted there again/, 12_000)
      expect((await fetch(`${s.url}/readyz`)).status).to.equal(200)
      expect((await runCli(['api-key', 'revoke', other.id], { env })).code).to.equal(0)
      await sleep(50)
      expect((await s.post('/v1/keys/verify', { key: other.secret })).json).to.deep.equal({ valid: false, code: 'REVOKED' })
    })

    it('then validation keeps working, lockout falls back to memory (said once), and nothing crashes', async () => {
      await startRedis()
      const good = await createKey()
      const s = await startServe({ REDIS_URL: `redis://127.0.0.1:${port}` })
      servers.push(s)
      expect((await s.post('/v1/keys/verify', { key: good.secret })).json.valid).to.equal(true)
      redis!.kill('SIGKILL')
      await sleep(300)
      expect((await s.post('/v1/keys/verify', { key: good.secret })).json.valid).to.equal(true)
      const ip = freshIp()
      const answers = []
      for (let i = 0; i < 7; i++) answers.push((await s.post('/v1/keys/verify', { key: `mtry_bad_${i}`, ip })).json.code)
      expect(answers).to.deep.equal(['MALFORMED', 'MALFORMED', 'MALFORMED', 'MALFORMED', 'MALFORMED', 'RATE_LIMITED', 'RATE_LIMITED'])
      expect((await s.post('/v1/keys/verify', { key: good.secret, ip })).json.code).to.equal('RATE_LIMITED')
      expect((await fetch(`${s.url}/healthz`)).status).to.equal(200)
      expect((await fetch(`${s.url}/readyz`)).status).to.equal(503)
      const mentions = s.stderr().split('\n').filter((l) => /falls back to this process's memory/.test(l))
      expect(mentions, s.stderr()).to.have.length(1)
      expect(s.child.exitCode).to.equal(null)
    })
  })
})
