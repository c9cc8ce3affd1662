// Lifting a lockout: `momentry lockout list|clear` and the admin routes, against a real
// `serve` process that has locked 127.0.0.1 out — the clear must reach it at once (over
// NOTIFY), with Redis and without it (counters in PostgreSQL).
import { request } from 'node:http'

import { expect } from 'chai'

import { runJson, spawnJson } from '../helpers/cli.js'
import { auditRows, openTestSql, truncateAll } from '../helpers/db.js'
import type { ServeProcess } from '../helpers/serve.js'
import { startServe } from '../helpers/serve.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('lockout list and clear (a real serve locked out of 127.0.0.1)', function () {
  this.timeout(60_000)
  const sql = openTestSql()
  let server: ServeProcess | undefined
  beforeEach(() => truncateAll(sql))
  afterEach(async () => {
    await server?.stop()
    server = undefined
  })
  after(async () => {
    // Leave 127.0.0.1 unlocked in this run's Redis prefix for the tests that follow.
    await runJson(['lockout', 'clear', '--all'])
    await sql.end()
  })

  const createKey = async (env: Record<string, string>, ...extra: string[]) => {
    const r = await runJson(['api-key', 'create', '--name', 'lockout-e2e', '--type', 'service', ...extra], { env })
    expect(r.code, r.stderr).to.equal(0)
    return { secret: r.json.secret as string, id: r.json.key.id as string }
  }

  /** Five bad keys from 127.0.0.1 (the socket address: no body ip), then a good one is refused from memory. */
  const lockOutLocalhost = async (s: ServeProcess, good: string) => {
    for (let i = 0; i < 5; i++) expect((await s.post('/v1/keys/verify', { key: `mtry_svc_guess${i}` })).json.valid).to.equal(false)
    const refused = await s.post('/v1/keys/verify', { key: good })
    expect(refused.json).to.include({ valid: false, code: 'RATE_LIMITED' })
    expect(refused.json.retryAfterSeconds).to.be.within(890, 900)
  }

  for (const [mode, env] of [
    ['with Redis', {}],
    ['without Redis (counters in PostgreSQL)', { REDIS_URL: '' }],
  ] as const) {
    it(`given serve has locked 127.0.0.1 out (${mode}), when \`lockout clear 127.0.0.1\` runs, then list showed it, the next request is answered at once, and the clear is audited`, async () => {
      await runJson(['lockout', 'clear', '--all'], { env })
      const started = Date.now()
      const good = await createKey(env)
      server = await startServe(env)
      await lockOutLocalhost(server, good.secret)

      const list = await spawnJson(['lockout', 'list'], { env })
      expect(list.code, list.stderr).to.equal(0)
      expect(list.json.items.map((l: { ip: string }) => l.ip)).to.deep.equal(['127.0.0.1'])
      expect(list.json.items[0].retryAfterSeconds).to.be.within(880, 900)

      const cleared = await spawnJson(['lockout', 'clear', '127.0.0.1'], { env })
      expect(cleared.code, cleared.stderr).to.equal(0)
      expect(cleared.json.cleared).to.have.length(1)
      expect(cleared.json.cleared[0]).to.include({ ip: '127.0.0.1', wasLockedOut: true, attempts: 5 })
      // No restart, no waiting for the 30 s refresh: the NOTIFY has arrived by the time the CLI has exited.
      await sleep(50)
      expect((await server.post('/v1/keys/verify', { key: good.secret })).json.valid).to.equal(true)
      // The count started again at zero: four more failures do not lock it out.
      for (let i = 0; i < 4; i++) await server.post('/v1/keys/verify', { key: 'mtry_svc_nope' })
      expect((await server.post('/v1/keys/verify', { key: good.secret })).json.valid).to.equal(true)

      expect((await runJson(['lockout', 'list'], { env })).json.items).to.deep.equal([])
      // Only this test's rows: another file of the same run may have cleared lockouts too.
      const audit = (await auditRows(sql, { action: 'ip.lockout_cleared' })).filter((r) => Date.parse(r.at) >= started && r.target === '127.0.0.1')
      expect(audit).to.have.length(1)
      expect(audit[0]).to.include({ ip: '127.0.0.1', target: '127.0.0.1' })
      expect(audit[0]!.details).to.include({ wasLockedOut: true, attempts: 5, all: false })
      await runJson(['lockout', 'clear', '--all'], { env })
    })

    it(`given serve has locked 127.0.0.1 out (${mode}), when \`lockout clear --all\` runs, then every server forgets every lockout at once`, async () => {
      await runJson(['lockout', 'clear', '--all'], { env })
      const good = await createKey(env)
      server = await startServe(env)
      await lockOutLocalhost(server, good.secret)
      const cleared = await spawnJson(['lockout', 'clear', '--all'], { env })
      expect(cleared.code, cleared.stderr).to.equal(0)
      expect(cleared.json.cleared.map((c: { ip: string }) => c.ip)).to.deep.equal(['127.0.0.1'])
      await sleep(50)
      expect((await server.post('/v1/keys/verify', { key: good.secret })).json.valid).to.equal(true)
    })
  }

  it('given serve has locked 127.0.0.1 out, when an admin on another address lists and deletes the lockout over HTTP, then 127.0.0.1 is answered at once', async () => {
    await runJson(['lockout', 'clear', '--all'])
    const good = await createKey({})
    const admin = await createKey({}, '--scopes', 'admin')
    server = await startServe()
    await lockOutLocalhost(server, good.secret)
    // The admin key is judged by the connection's own address: 127.0.0.2 is not locked out.
    const call = (method: string, path: string) =>
      new Promise<{ status: number; json: any }>((resolve, reject) => {
        const req = request(server!.url + path, { method, localAddress: '127.0.0.2', headers: { authorization: `Bearer ${admin.secret}` } }, (res) => {
          let body = ''
          res.on('data', (d) => (body += d))
          res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(body) }))
        })
        req.on('error', reject)
        req.end()
      })
    {
      // From the locked-out address itself the admin key is refused like any other.
      const refused = await fetch(`${server.url}/v1/admin/lockouts`, { headers: { authorization: `Bearer ${admin.secret}` } })
      expect(refused.status).to.equal(429)
      const list = await call('GET', '/v1/admin/lockouts')
      expect(list.status, JSON.stringify(list.json)).to.equal(200)
      expect(list.json.items.map((l: { ip: string }) => l.ip)).to.deep.equal(['127.0.0.1'])
      const del = await call('DELETE', '/v1/admin/lockouts/127.0.0.1')
      expect(del.status, JSON.stringify(del.json)).to.equal(200)
      expect(del.json.cleared[0]).to.include({ ip: '127.0.0.1', wasLockedOut: true })
      expect((await server.post('/v1/keys/verify', { key: good.secret })).json.valid).to.equal(true)
      const again = await call('DELETE', '/v1/admin/lockouts/127.0.0.1')
      expect([again.status, again.json.error.code]).to.deep.equal([404, 'NOT_FOUND'])
      const rows = await auditRows(sql, { action: 'ip.lockout_cleared' })
      expect(rows.filter((r) => r.target === '127.0.0.1').at(-1)!.actor).to.equal(`api:${admin.id}`)
    }
  })
})
