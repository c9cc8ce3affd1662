// Commands run in this process (runCli/runJson), except two that need real processes
// (spawnJson): two rotations of one key at the same time (two processes racing for the row
// lock, which runs taking turns in one process cannot race), and a valid key piped on stdin
// (the pipe, the read and the exit code 0 of a real process, end to end).
import { expect } from 'chai'

import { runCli, runJson, spawnJson } from '../helpers/cli.js'
import { openTestSql, truncateAll } from '../helpers/db.js'

const HOUR = 3_600_000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function create(...extra: string[]): Promise<{ secret: string; key: any }> {
  const r = await runJson(['api-key', 'create', '--name', 'test', '--type', 'service', ...extra])
  expect(r.code, r.stderr).to.equal(0)
  return r.json
}

const validate = (secret: string, ...extra: string[]) => runJson(['api-key', 'validate', ...extra], { input: `${secret}\n` })

describe('api-key lifecycle through the CLI', () => {
  const sql = openTestSql()
  beforeEach(() => truncateAll(sql))
  after(() => sql.end())

  describe('create', () => {
    it('given --json, when a key is created, then the raw key appears exactly once and matches the documented format', async () => {
      const r = await runJson(['api-key', 'create', '--name', 'ci', '--type', 'service'])
      expect(r.code).to.equal(0)
      expect(r.json.secret).to.match(/^mtry_svc_[0-9A-Za-z]{49}$/)
      expect(r.stdout.split(r.json.secret).length - 1).to.equal(1)
      expect(r.json.key).to.include({ name: 'ci', type: 'service', status: 'active' })
      expect(r.json.key.id).to.match(/^key_[0-9A-Za-z]{16}$/)
      expect(r.json.key.stub).to.equal(`${r.json.secret.slice(0, 12)}…`)
    })

    it('given no --json, when a key is created, then stdout holds only the key and stderr says it is shown once', async () => {
      const r = await runCli(['api-key', 'create', '--name', 'plain', '--type', 'user'])
      expect(r.code).to.equal(0)
      expect(r.stdout.trim()).to.match(/^mtry_usr_[0-9A-Za-z]{49}$/)
      expect(r.stderr).to.match(/shown once/)
    })

    it('given scopes, owner, expiry and metadata, when created, then they are stored and shown back', async () => {
      const { key } = await create('--scopes', 'keys:read,admin,keys:read', '--owner', 'payments', '--expires-in', '30d', '--meta', 'ticket=OPS-1', '--meta', 'env=prod', '--rotate-every', '90d')
      expect(key.scopes).to.deep.equal(['admin', 'keys:read'])
      expect(key.owner).to.equal('payments')
      expect(key.metadata).to.deep.equal({ ticket: 'OPS-1', env: 'prod' })
      expect(key.rotateEvery).to.equal('90d')
      const days = (Date.parse(key.expiresAt) - Date.parse(key.createdAt)) / (24 * HOUR)
      expect(days).to.be.closeTo(30, 0.001)
    })

    it('given --expires-at in the past, when created, then it is a usage error and nothing is written', async () => {
      const r = await runJson(['api-key', 'create', '--name', 'x', '--type', 'user', '--expires-at', '2001-01-01'])
      expect(r.code).to.equal(2)
      const { n } = (await sql`select count(*)::int as n from api_keys`)[0]!
      expect(n).to.equal(0)
    })
  })

  describe('rotate', () => {
    const graceHours = { system: 72, user: 24, service: 48, integration: 24 } as const
    for (const [type, hours] of Object.entries(graceHours)) {
      it(`given a ${type} key, when rotated, then the old key stays valid as rotating for ${hours}h`, async () => {
        const old = await runJson(['api-key', 'create', '--name', `r-${type}`, '--type', type, '--scopes', 'a,b', '--owner', 'o'])
        const r = await runJson(['api-key', 'rotate', old.json.key.id])
        expect(r.code, r.stderr).to.equal(0)
        const prev = r.json.previous
        expect(prev.status).to.equal('rotating')
        expect(prev.replacedBy).to.equal(r.json.key.id)
        expect((Date.parse(prev.graceExpiresAt) - Date.parse(prev.rotatedAt)) / HOUR).to.be.closeTo(hours, 0.001)
        expect(r.json.key).to.include({ name: `r-${type}`, type, owner: 'o', rotatedFrom: old.json.key.id })
        expect(r.json.key.scopes).to.deep.equal(['a', 'b'])
        const v = await validate(old.json.secret)
        expect(v.code).to.equal(0)
        expect(v.json.key.rotating).to.deep.equal({ graceExpiresAt: prev.graceExpiresAt, replacedBy: r.json.key.id })
        expect((await validate(r.json.secret)).code).to.equal(0)
      })
    }

    it('given a key rotated twice, when the first key (still in grace) is validated, then it names the newest key, not the rotated-again middle one', async () => {
      const first = await runJson(['api-key', 'create', '--name', 'billing-export', '--type', 'service'])
      const second = await runJson(['api-key', 'rotate', first.json.key.id])
      const third = await runJson(['api-key', 'rotate', second.json.key.id])
      expect(third.code, third.stderr).to.equal(0)
      const v = await validate(first.json.secret)
      expect([v.code, v.json.key.rotating.replacedBy]).to.deep.equal([0, third.json.key.id])
      await runJson(['api-key', 'revoke', third.json.key.id])
      const after = await validate(first.json.secret)
      expect([after.code, after.json.key.rotating.replacedBy]).to.deep.equal([0, null])
      const text = await runCli(['api-key', 'validate'], { input: first.json.secret })
      expect(text.stdout).to.include('no live successor')
    })

    it('given an emergency key, when rotated, then the old key is revoked at once', async () => {
      const old = await runJson(['api-key', 'create', '--name', 'e', '--type', 'emergency'])
      const r = await runJson(['api-key', 'rotate', old.json.key.id])
      expect(r.code).to.equal(0)
      expect(r.json.previous.status).to.equal('revoked')
      expect(r.json.previous.graceExpiresAt).to.equal(null)
      const v = await validate(old.json.secret)
      expect([v.code, v.json]).to.deep.equal([3, { valid: false, code: 'REVOKED' }])
    })

    it('given --force, when a system key is rotated, then the old key is revoked at once and the new one works', async () => {
      const old = await create()
      const r = await runJson(['api-key', 'rotate', old.key.id, '--force', '--reason', 'leaked'])
      expect(r.code).to.equal(0)
      expect(r.json.previous.status).to.equal('revoked')
      expect(r.json.previous.revokedReason).to.match(/forced rotation: leaked/)
      expect((await validate(old.secret)).json.code).to.equal('REVOKED')
      expect((await validate(r.json.secret)).code).to.equal(0)
    })

    it('given --grace 1s, when the grace period passes, then the old key validates as EXPIRED', async () => {
      const old = await create()
      const r = await runJson(['api-key', 'rotate', old.key.id, '--grace', '1s'])
      expect(r.json.previous.status).to.equal('rotating')
      await sleep(1100)
      const v = await validate(old.secret)
      expect([v.code, v.json.code]).to.deep.equal([3, 'EXPIRED'])
    })

    it('given a key expiring in 1h, when rotated with a 48h grace, then grace ends at the key\'s own expiry', async () => {
      const old = await create('--expires-in', '1h')
      const r = await runJson(['api-key', 'rotate', old.key.id])
      expect(r.json.previous.graceExpiresAt).to.equal(old.key.expiresAt)
    })

    it('given two rotations of one key at the same time, then exactly one succeeds and the other exits 6', async () => {
      for (let round = 0; round < 3; round++) {
        const { key } = await create()
        const results = await Promise.all([spawnJson(['api-key', 'rotate', key.id]), spawnJson(['api-key', 'rotate', key.id])])
        const codes = results.map((x) => x.code).sort()
        expect(codes, JSON.stringify(results.map((x) => x.stdout))).to.deep.equal([0, 6])
        const loser = results.find((x) => x.code === 6)!
        expect(loser.json.error.code).to.equal('CONFLICT')
        const { n } = (await sql`select count(*)::int as n from api_keys where rotated_from = ${key.id}`)[0]!
        expect(n).to.equal(1)
      }
    })

    it('given a revoked key, when rotated, then it is a conflict (exit 6)', async () => {
      const { key } = await create()
      await runJson(['api-key', 'revoke', key.id])
      const r = await runJson(['api-key', 'rotate', key.id])
      expect(r.code).to.equal(6)
      expect(r.json.error.message).to.match(/revoked/)
    })

    it('given keys with --rotate-every 1s, when `rotate --due` runs after it passed, then each is rotated and its new key printed', async () => {
      const due = await create('--rotate-every', '1s')
      const notDue = await create('--rotate-every', '30d')
      await sleep(1100)
      const r = await runJson(['api-key', 'rotate', '--due'])
      expect(r.code, r.stderr).to.equal(0)
      expect(r.json.rotated.map((x: any) => x.previous.id)).to.deep.equal([due.key.id])
      expect(r.json.rotated[0].secret).to.match(/^mtry_svc_/)
      expect(r.json.rotated[0].key.rotateEvery).to.equal('1s')
      expect((await runJson(['api-key', 'show', notDue.key.id])).json.key.replacedBy).to.equal(null)
    })
  })

  describe('revoke, disable, enable, expiry', () => {
    it('given an active key, when revoked, then it validates as REVOKED and a second revoke is a conflict', async () => {
      const { secret, key } = await create()
      const r = await runJson(['api-key', 'revoke', key.id, '--reason', 'leaked'])
      expect(r.json).to.have.all.keys('key')
      expect(r.json.key).to.include({ id: key.id, status: 'revoked', revokedReason: 'leaked' })
      expect((await validate(secret)).json).to.deep.equal({ valid: false, code: 'REVOKED' })
      expect((await runJson(['api-key', 'revoke', key.id])).code).to.equal(6)
    })

    it('given a key, when disabled and enabled again, then it validates DISABLED then valid', async () => {
      const { secret, key } = await create()
      expect((await runJson(['api-key', 'disable', key.id, '--reason', 'spike'])).json.key).to.include({ status: 'disabled', disabledReason: 'spike' })
      const v = await validate(secret)
      expect([v.code, v.json.code]).to.deep.equal([3, 'DISABLED'])
      expect((await runJson(['api-key', 'disable', key.id])).code).to.equal(6)
      expect((await runJson(['api-key', 'enable', key.id])).json.key.status).to.equal('active')
      expect((await validate(secret)).code).to.equal(0)
    })

    it('given a key that expires in 1s, when it has passed, then it validates EXPIRED and lists as expired', async () => {
      const { secret, key } = await create('--expires-in', '1s')
      await sleep(1100)
      const v = await validate(secret)
      expect([v.code, v.json.code]).to.deep.equal([3, 'EXPIRED'])
      const list = await runJson(['api-key', 'list', '--status', 'expired'])
      expect(list.json.items.map((k: any) => k.id)).to.deep.equal([key.id])
    })

    it('given every state change, then each wrote its audit row, visible in `show`', async () => {
      const { key } = await create()
      await runJson(['api-key', 'disable', key.id])
      await runJson(['api-key', 'enable', key.id])
      await runJson(['api-key', 'rotate', key.id])
      const s = await runJson(['api-key', 'show', key.id])
      expect(s.json.history.map((h: any) => h.action)).to.deep.equal(['key.create', 'key.disable', 'key.enable', 'key.rotate'])
    })
  })

  describe('validate', () => {
    it('given a valid key on stdin, then exit 0 and the key summary', async () => {
      const { secret, key } = await create('--scopes', 'keys:read')
      const v = await spawnJson(['api-key', 'validate', '--require-scope', 'keys:read', '--ip', '203.0.113.7'], { input: `${secret}\n` })
      expect(v.code).to.equal(0)
      expect(v.json).to.deep.equal({
        valid: true,
        key: { id: key.id, name: 'test', type: 'service', scopes: ['keys:read'], owner: null, expiresAt: null },
      })
    })

    it('given a missing required scope, then INSUFFICIENT_SCOPE and exit 3', async () => {
      const { secret } = await create('--scopes', 'keys:read')
      const v = await validate(secret, '--require-scope', 'admin')
      expect([v.code, v.json]).to.deep.equal([3, { valid: false, code: 'INSUFFICIENT_SCOPE' }])
    })

    it('given a well-formed key that was never issued, then NOT_FOUND and exit 3', async () => {
      const { secret } = await create()
      await sql`delete from api_keys`
      const v = await validate(secret)
      expect([v.code, v.json]).to.deep.equal([3, { valid: false, code: 'NOT_FOUND' }])
    })

    it('given a bad checksum, then MALFORMED without any database query (PostgreSQL unreachable is never noticed)', async () => {
      const { secret } = await create()
      const typo = secret.slice(0, 20) + (secret[20] === 'a' ? 'b' : 'a') + secret.slice(21)
      const v = await runJson(['api-key', 'validate'], { input: typo, env: { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' } })
      expect([v.code, v.json]).to.deep.equal([3, { valid: false, code: 'MALFORMED' }])
    })

    it('given --key-env, then the key is read from that variable', async () => {
      const { secret } = await create()
      const v = await runJson(['api-key', 'validate', '--key-env', 'THE_KEY'], { env: { THE_KEY: secret } })
      expect(v.code).to.equal(0)
    })

    it('given the key as an argument, then it works but warns that argv is visible', async () => {
      const { secret } = await create()
      const v = await runCli(['api-key', 'validate', secret])
      expect(v.code).to.equal(0)
      expect(v.stderr).to.match(/visible in ps/)
    })
  })

  describe('list, show, stats', () => {
    it('given 5 keys, when paging 2 at a time, then every key appears once, newest first', async () => {
      const ids: string[] = []
      for (let i = 0; i < 5; i++) ids.push((await create('--owner', i % 2 ? 'odd' : 'even')).key.id)
      const seen: string[] = []
      let cursor: string | null = null
      do {
        const page: any = await runJson(['api-key', 'list', '--limit', '2', ...(cursor ? ['--cursor', cursor] : [])])
        expect(page.code).to.equal(0)
        expect(page.json.items.length).to.be.at.most(2)
        seen.push(...page.json.items.map((k: any) => k.id))
        cursor = page.json.nextCursor
      } while (cursor)
      expect(seen).to.deep.equal([...ids].reverse())
      const odd = await runJson(['api-key', 'list', '--owner', 'odd'])
      expect(odd.json.items.map((k: any) => k.id)).to.deep.equal([ids[3], ids[1]])
    })

    it('given keys of several types, when filtering by --type, then only that type is listed', async () => {
      await create()
      const user = (await runJson(['api-key', 'create', '--name', 'u', '--type', 'user'])).json.key.id
      const r = await runJson(['api-key', 'list', '--type', 'user'])
      expect(r.json.items.map((k: any) => k.id)).to.deep.equal([user])
      expect(r.json.nextCursor).to.equal(null)
    })

    it('given no --json, when listing, then a table with the key ids is printed', async () => {
      const { key } = await create()
      const r = await runCli(['api-key', 'list'])
      expect(r.code).to.equal(0)
      expect(r.stdout).to.include(key.id).and.include('service').and.include('active')
    })

    it('given keys in several states, then stats counts them by type and status', async () => {
      const a = await create()
      await create('--expires-in', '5d')
      const c = await create()
      await runJson(['api-key', 'revoke', c.key.id])
      await runJson(['api-key', 'rotate', a.key.id])
      const s = await runJson(['api-key', 'stats'])
      expect(s.json.total).to.equal(4)
      expect(s.json.byTypeAndStatus.service).to.include({ active: 2, rotating: 1, revoked: 1 })
      expect(s.json.expiringIn7Days).to.equal(1)
      expect(s.json.expiringIn30Days).to.equal(1)
    })

    it('given validations and a lockout, then stats counts validations and failures of the last 24 h and locked-out IPs', async () => {
      const { secret } = await create('--scopes', 'a')
      await validate(secret)
      await validate(secret, '--require-scope', 'b')
      const ip = `198.18.${Date.now() % 250}.${Math.floor(Math.random() * 250) + 1}`
      for (let i = 0; i < 5; i++) await runJson(['api-key', 'validate', '--ip', ip], { input: 'mtry_nope' })
      const s = await runJson(['api-key', 'stats'])
      expect(s.json).to.include({ validationsLast24h: 2, failuresLast24h: 1 })
      expect(s.json.lockedOutIps).to.be.at.least(1)
      const text = await runCli(['api-key', 'stats'])
      expect(text.stdout).to.match(/last 24 h: 2 validations, 1 failed/)
    })
  })
})
