import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { expect } from 'chai'

import { revokeKey } from '../../src/core/api-keys/change-key-state.js'
import { createKey } from '../../src/core/api-keys/create-key.js'
import { generateRawKey } from '../../src/core/api-keys/key-format.js'
import { rotateKey } from '../../src/core/api-keys/rotate-key.js'
import { auditKeyId } from '../../src/core/audit/audit-keys.js'
import { appendAudit } from '../../src/core/audit/repo.js'
import type { Sql } from '../../src/core/db/connect.js'
import { verifyKey } from '../../src/core/validation/verify-key.js'
import { expectJsonError, expectOneLineError } from '../helpers/assert.js'
import type { CliResult } from '../helpers/cli.js'
import { runCli, runJson } from '../helpers/cli.js'
import type { TestCore } from '../helpers/db.js'
import { openTestSql, testCore, testDatabaseUrl, truncateAll } from '../helpers/db.js'

/** The id of the run's audit key (global-setup's MOMENTRY_AUDIT_KEY). */
const runKeyId = () => auditKeyId(Buffer.from(process.env.MOMENTRY_AUDIT_KEY!, 'base64'))

describe('audit trail', () => {
  const sql = openTestSql()
  let dir: string
  beforeEach(async () => {
    await truncateAll(sql)
    dir = await mkdtemp(join(tmpdir(), 'momentry-audit-test-'))
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))
  after(() => sql.end())

  /** Change rows behind the product's back, as a superuser can: triggers off for this transaction only. */
  const tamper = (statements: string) => sql.begin((tx) => tx.unsafe(`set local session_replication_role = replica; ${statements}`))

  const verify = (...args: string[]) => runJson(['audit', 'verify', ...args])
  const list = (...args: string[]) => runJson(['audit', 'list', ...args])

  const ok = async (...args: string[]) => {
    const r = await runJson(args)
    expect(r.code, `${args.join(' ')}: ${r.stdout} ${r.stderr}`).to.equal(0)
    return r.json
  }

  const seqs = async () => (await sql<Array<{ seq: string }>>`select seq from api_key_audit_log order by seq`).map((r) => Number(r.seq))

  /** Six rows: three creates, a revoke, a rotation (its new key's create and the key.rotate). */
  async function seedSix(): Promise<{ a: string; b: string; c: string }> {
    const a = (await ok('api-key', 'create', '--name', 'a', '--type', 'user')).key.id
    const b = (await ok('api-key', 'create', '--name', 'b', '--type', 'user')).key.id
    const c = (await ok('api-key', 'create', '--name', 'c', '--type', 'service')).key.id
    await ok('api-key', 'revoke', b, '--reason', 'seed')
    await ok('api-key', 'rotate', c)
    expect(await seqs()).to.deep.equal([1, 2, 3, 4, 5, 6])
    return { a, b, c }
  }

  const expectBrokenAt = (r: CliResult, seq: number) => {
    expect(r.code, `verify: ${r.stdout} ${r.stderr}`).to.equal(3)
    expect(r.json.ok).to.equal(false)
    expect(r.json.broken, r.stdout).to.be.an('object')
    expect(r.json.broken.seq, r.json.broken.problem).to.equal(seq)
  }

  describe('details at rest', () => {
    const dumpDatabase = () =>
      execFileSync('pg_dump', ['--data-only', '--inserts', testDatabaseUrl()], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] })
    /** Every form a plaintext could take in a dump: text, bytea hex, base64. */
    const expectAbsent = (text: string, secret: string) => {
      expect(text).not.to.include(secret)
      expect(text.toLowerCase()).not.to.include(Buffer.from(secret).toString('hex'))
      expect(text).not.to.include(Buffer.from(secret).toString('base64').slice(0, 20))
    }

    it('given a revoke with a distinctive reason, when the database is dumped, then the audit rows hold it in no form, and audit list shows it', async () => {
      const reason = `scrubbed-${randomBytes(6).toString('hex')}-leak`
      const key = (await ok('api-key', 'create', '--name', 'dumped', '--type', 'user')).key.id
      await ok('api-key', 'revoke', key, '--reason', reason)

      const dump = dumpDatabase()
      const auditLines = dump.split('\n').filter((l) => l.startsWith('INSERT INTO public.api_key_audit_log '))
      expect(auditLines).to.have.length(2) // the create and the revoke: the dump really has the audit rows
      expect(auditLines.join('\n')).to.include(key).and.include('key.revoke')
      expectAbsent(auditLines.join('\n'), reason)
      // SPEC §4 keeps revoked_at/reason on the key itself, in clear: that row, not the audit trail.
      const keyLines = dump.split('\n').filter((l) => l.includes(reason))
      expect(keyLines.every((l) => l.startsWith('INSERT INTO public.api_keys '))).to.equal(true)

      const page = await list('--key', key)
      expect(page.code).to.equal(0)
      expect(page.json.items.map((e: any) => e.action)).to.deep.equal(['key.create', 'key.revoke'])
      expect(page.json.items[1]).to.deep.include({ keyId: key, auditKeyId: runKeyId(), details: { reason } })
    })

    it('given a reseal reason (kept only in the audit trail), when the database is dumped, then it is nowhere in the dump, and audit list shows it', async () => {
      const reason = `restore-${randomBytes(6).toString('hex')}-only-in-audit`
      await ok('api-key', 'create', '--name', 'k', '--type', 'user')
      await ok('audit', 'reseal', '--reason', reason)
      const dump = dumpDatabase()
      expect(dump).to.include('audit.reseal')
      expectAbsent(dump, reason)
      const page = await list('--action', 'audit.*')
      expect(page.json.items.map((e: any) => e.details.reason)).to.deep.equal([reason])
    })
  })

  describe('verify', () => {
    it('given an untouched log, then verify exits 0 with every row walked and no break', async () => {
      await seedSix()
      const r = await verify()
      expect(r.code, r.stdout).to.equal(0)
      expect(r.json).to.deep.include({ ok: true, rows: 6, broken: null })
      expect(r.json.head.seq).to.equal(6)
      const human = await runCli(['audit', 'verify'])
      expect([human.code, human.stdout.trim()]).to.deep.equal([0, 'intact: 6 rows, head 6'])
    })

    it('given an empty log, then verify exits 0 with zero rows', async () => {
      const r = await verify()
      expect(r.code).to.equal(0)
      expect(r.json).to.deep.include({ ok: true, rows: 0, broken: null })
    })

    it('given the actor of row 3 edited, then verify exits 3 naming row 3', async () => {
      await seedSix()
      await tamper(`update api_key_audit_log set actor = 'cli:mallory' where seq = 3`)
      expectBrokenAt(await verify(), 3)
      const human = await runCli(['audit', 'verify'])
      expect(human.code).to.equal(3)
      expect(human.stdout).to.match(/^broken at row 3: its contents do not match its hash/)
    })

    it('given one ciphertext byte of row 4 flipped, then verify exits 3 naming row 4 (no audit key needed)', async () => {
      await seedSix()
      await tamper(`update api_key_audit_log set ciphertext = set_byte(ciphertext, 5, get_byte(ciphertext, 5) # 1) where seq = 4`)
      expectBrokenAt(await runJson(['audit', 'verify'], { env: { MOMENTRY_AUDIT_KEY: randomBytes(32).toString('base64') } }), 4)
    })

    it('given the middle row deleted, then verify exits 3 naming the missing row', async () => {
      await seedSix()
      await tamper(`delete from api_key_audit_log where seq = 3`)
      const r = await verify()
      expectBrokenAt(r, 3)
      expect(r.json.broken.problem).to.match(/row 3 is missing/)
    })

    it('given rows 3 and 4 swapped (their seq exchanged), then verify exits 3 naming row 3', async () => {
      await seedSix()
      await tamper(`update api_key_audit_log set seq = -1 where seq = 3;
                    update api_key_audit_log set seq = 3 where seq = 4;
                    update api_key_audit_log set seq = 4 where seq = -1;`)
      expectBrokenAt(await verify(), 3)
    })

    it('given a forged row inserted at 3 with a correct hash of its own (later rows shifted up), then verify exits 3 naming the row after it', async () => {
      await seedSix()
      await tamper(`
        update api_key_audit_log set seq = -seq - 1 where seq >= 3;
        update api_key_audit_log set seq = -seq where seq < 0;
        insert into api_key_audit_log (seq, created_at, actor, action, target, key_id, ip_address, legacy_details, prev_hash, hash)
          select 3, now(), 'cli:mallory', 'key.enable', 'key_0000000000000000', null, null, '{"forged":true}', p.hash,
                 momentry_audit_hash(p.hash, 3, now(), 'cli:mallory', 'key.enable', 'key_0000000000000000', null, null, null, null, null, '{"forged":true}')
          from api_key_audit_log p where p.seq = 2;
        update audit_chain_head set seq = 7;`)
      // The forged row itself is a valid link: the proof is that the walk gets past it.
      const [forged] = await sql`select hash, momentry_audit_hash(prev_hash, seq, created_at, actor, action, target, key_id, ip_address, audit_key_id, nonce, ciphertext, legacy_details) as expected from api_key_audit_log where seq = 3`
      expect(Buffer.compare(forged!.hash, forged!.expected)).to.equal(0)
      const r = await verify()
      expectBrokenAt(r, 4)
      expect(r.json.broken.problem).to.match(/previous-row hash/)
    })

    it('given a checkpoint, when the tail is deleted and the head set back consistently, then verify alone passes but with the checkpoint exits 3 naming the first removed row', async () => {
      await seedSix()
      const file = join(dir, 'six.note')
      const cp = await runJson(['audit', 'checkpoint', '--out', file])
      expect(cp.code, cp.stderr).to.equal(0)
      expect(cp.json).to.include({ seq: 6, file })
      const before = await verify('--checkpoint', file)
      expect(before.code).to.equal(0)
      expect(before.json.checkpoints).to.deep.equal([{ source: file, seq: 6, status: 'matches' }])

      await tamper(`delete from api_key_audit_log where seq > 4;
                    update audit_chain_head set seq = 4;`)
      const alone = await verify()
      expect(alone.code, alone.stdout).to.equal(0)
      expect(alone.json).to.deep.include({ ok: true, rows: 4 })

      const withCp = await verify('--checkpoint', file)
      expectBrokenAt(withCp, 5)
      expect(withCp.json.checkpoints).to.have.length(1)
      expect(withCp.json.checkpoints[0]).to.include({ source: file, seq: 6, status: 'broken' })
    })

    it('given a checkpoint, when a row before it is edited, then verify with the checkpoint exits 3 at the edited row', async () => {
      await seedSix()
      const file = join(dir, 'cp.note')
      expect((await runJson(['audit', 'checkpoint', '--out', file])).code).to.equal(0)
      await tamper(`update api_key_audit_log set target = 'elsewhere' where seq = 2`)
      expectBrokenAt(await verify('--checkpoint', file), 2)
    })

    it('given a chain of a few hundred rows, then verify exits 0 run after run, and exits 3 at row 1 once row 1 is edited', async () => {
      const core = testCore(sql)
      try {
        await sql.begin(async (tx) => {
          for (let i = 0; i < 400; i++) await appendAudit(core.ctx, tx, { keyId: null, action: 'key.enable', actor: 'cli:bulk', at: new Date(), details: { n: i } })
        })
      } finally {
        await core.close()
      }
      for (let i = 0; i < 3; i++) {
        const r = await verify()
        expect(r.code, r.stdout + r.stderr).to.equal(0)
        expect(r.json.rows).to.equal(400)
      }
      await tamper(`update api_key_audit_log set actor = 'cli:mallory' where seq = 1`)
      for (let i = 0; i < 3; i++) expectBrokenAt(await verify(), 1)
    })

    it('given a checkpoint file that was altered, then verify exits 2 with one line', async () => {
      await seedSix()
      const file = join(dir, 'cp.note')
      const cp = await runJson(['audit', 'checkpoint', '--out', file])
      const { writeFile } = await import('node:fs/promises')
      await writeFile(file, (cp.json.note as string).replace(/\n6\n/, '\n5\n'))
      expectOneLineError(await runCli(['audit', 'verify', '--checkpoint', file]), 2, /not a valid momentry checkpoint: the signature does not verify/)
    })
  })

  describe('append-only', () => {
    it('given audit rows, then UPDATE, DELETE and TRUNCATE are refused by PostgreSQL and change nothing', async () => {
      await seedSix()
      const before = await sql`select * from api_key_audit_log order by seq`
      for (const statement of [
        `update api_key_audit_log set actor = 'cli:mallory' where seq = 3`,
        `delete from api_key_audit_log where seq = 6`,
        `truncate api_key_audit_log`,
        `truncate api_key_audit_log, audit_chain_head`,
      ]) {
        const error = await sql.unsafe(statement).then(
          () => undefined,
          (e: Error & { code?: string }) => e,
        )
        expect(error, statement).to.be.instanceOf(Error)
        expect(error!.message, statement).to.match(/the audit log is append-only: (UPDATE|DELETE|TRUNCATE) is refused/)
        expect(error!.code).to.equal('42501')
      }
      expect(await sql`select * from api_key_audit_log order by seq`).to.deep.equal(before)
      expect((await verify()).code).to.equal(0)
    })

    it('given a chain head at 6, then moving it back, skipping ahead, deleting or truncating it is refused', async () => {
      await seedSix()
      for (const statement of [
        `update audit_chain_head set seq = 5`,
        `update audit_chain_head set seq = 0`,
        `update audit_chain_head set seq = 8`,
        `delete from audit_chain_head`,
        `truncate audit_chain_head`,
      ]) {
        const error = await sql.unsafe(statement).then(
          () => undefined,
          (e: Error) => e,
        )
        expect(error, statement).to.be.instanceOf(Error)
        expect(error!.message, statement).to.match(/only moves forward|append-only/)
      }
      const [head] = await sql`select seq::int from audit_chain_head`
      expect(head!.seq).to.equal(6)
    })

    it('given a row inserted directly, not through the head, then it is refused', async () => {
      await seedSix()
      const error = await sql`insert into api_key_audit_log (seq, created_at, actor, action) values (7, now(), 'cli:mallory', 'key.enable')`.then(
        () => undefined,
        (e: Error) => e,
      )
      expect(error?.message).to.match(/appended through the chain head \(expected seq 6, got 7\)/)
      expect(await seqs()).to.have.length(6)
    })
  })

  describe('audit keys', () => {
    it('given rows under the run key, when listed with another key, then exit 8 with one line naming the row key id, and nothing else printed', async () => {
      await seedSix()
      const other = randomBytes(32).toString('base64')
      const r = await runCli(['audit', 'list'], { env: { MOMENTRY_AUDIT_KEY: other } })
      expectOneLineError(r, 8, new RegExp(`audit key ${runKeyId()}\\b`))
      expect(r.stderr).not.to.include(auditKeyId(Buffer.from(other, 'base64')) + ',')
      expect(r.stdout).to.equal('')
      expect(r.stderr).not.to.include(other)
      const j = await runJson(['audit', 'list'], { env: { MOMENTRY_AUDIT_KEY: other } })
      expectJsonError(j, 8, 'AUDIT_KEY')
      expect(j.json.error.message).to.include(runKeyId())
      expect(j.json).not.to.have.property('events')
    })

    it('given a row whose ciphertext was altered, when listed with the right key, then exit 8 saying it does not decrypt (never garbage)', async () => {
      await seedSix()
      await tamper(`update api_key_audit_log set ciphertext = set_byte(ciphertext, 0, get_byte(ciphertext, 0) # 1) where seq = 4`)
      const r = await runCli(['audit', 'list'])
      expectOneLineError(r, 8, new RegExp(`audit row 4 does not decrypt under audit key ${runKeyId()}`))
      expect(r.stdout).to.equal('')
    })

    it('given rows under an older key, when MOMENTRY_AUDIT_KEY lists a new key first and the old one after, then new rows use the new key and all rows read', async () => {
      const oldKey = process.env.MOMENTRY_AUDIT_KEY!
      const newKey = randomBytes(32).toString('base64')
      const k = (await ok('api-key', 'create', '--name', 'k', '--type', 'user')).key.id
      const env = { MOMENTRY_AUDIT_KEY: `${newKey},${oldKey}` }
      expect((await runJson(['api-key', 'revoke', k, '--reason', 'under the new key'], { env })).code).to.equal(0)
      const page = await runJson(['audit', 'list'], { env })
      expect(page.code, page.stderr).to.equal(0)
      expect(page.json.items.map((e: any) => [e.action, e.auditKeyId, e.details?.reason ?? null])).to.deep.equal([
        ['key.create', runKeyId(), null],
        ['key.revoke', auditKeyId(Buffer.from(newKey, 'base64')), 'under the new key'],
      ])
      // The old key alone cannot read the new row.
      expectOneLineError(await runCli(['audit', 'list']), 8, /audit row 2 is encrypted under audit key ak_[0-9a-f]{12}, which is not available here/)
    })

    it('given no MOMENTRY_AUDIT_KEY, then the first command generates the key once (said once), rotate-key starts a new one and old and new rows both read', async () => {
      const env = { MOMENTRY_AUDIT_KEY: '', MOMENTRY_DATA_DIR: join(dir, 'data') }
      const first = await runJson(['api-key', 'create', '--name', 'one', '--type', 'user'], { env })
      expect(first.code, first.stderr).to.equal(0)
      const generated = /generated audit key (ak_[0-9a-f]{12})/.exec(first.stderr)
      expect(generated, first.stderr).to.not.equal(null)
      const firstKey = generated![1]!
      expect(firstKey).not.to.equal(runKeyId())
      const second = await runJson(['api-key', 'create', '--name', 'two', '--type', 'user'], { env })
      expect(second.code).to.equal(0)
      expect(second.stderr).not.to.match(/generated audit key/)

      const rotated = await runJson(['audit', 'rotate-key'], { env })
      expect(rotated.code, rotated.stderr).to.equal(0)
      expect(rotated.stderr).not.to.match(/generated audit key/)
      expect(rotated.json.previous).to.equal(firstKey)
      expect(rotated.json.current).to.match(/^ak_[0-9a-f]{12}$/).and.not.equal(firstKey)
      expect(rotated.json.seq).to.equal(3)

      expect((await runJson(['api-key', 'revoke', first.json.key.id, '--reason', 'after rotation'], { env })).code).to.equal(0)
      const page = await runJson(['audit', 'list'], { env })
      expect(page.code, page.stderr).to.equal(0)
      expect(page.json.items.map((e: any) => [e.seq, e.action, e.auditKeyId])).to.deep.equal([
        [1, 'key.create', firstKey],
        [2, 'key.create', firstKey],
        [3, 'audit.rotate_key', rotated.json.current],
        [4, 'key.revoke', rotated.json.current],
      ])
      expect(page.json.items[0].details).to.include({ name: 'one' })
      expect(page.json.items[2].details).to.deep.equal({ previous: firstKey, current: rotated.json.current })
      expect(page.json.items[3].details).to.deep.equal({ reason: 'after rotation' })
      expect((await verify()).code).to.equal(0)
      // The run's env key is neither of them.
      expect((await runCli(['audit', 'list'])).code).to.equal(8)
    })

    it('given MOMENTRY_AUDIT_KEY set, when rotate-key runs, then exit 8 explaining that the env key is rotated in the env, and no row is written', async () => {
      await ok('api-key', 'create', '--name', 'k', '--type', 'user')
      const r = await runCli(['audit', 'rotate-key'])
      expectOneLineError(r, 8, /MOMENTRY_AUDIT_KEY/)
      expect(await seqs()).to.deep.equal([1])
    })
  })

  describe('concurrent writers', () => {
    it('given 20 concurrent rotations, revocations and lockouts on separate contexts, then the chain verifies with a gapless seq equal to the audited changes', async () => {
      const setup = testCore(sql)
      const keys: string[] = []
      try {
        for (let i = 0; i < 14; i++) keys.push((await createKey(setup.ctx, { name: `k${i}`, type: 'user' })).key.id)
      } finally {
        await setup.close()
      }
      const pools: Sql[] = []
      const cores: TestCore[] = []
      const core = () => {
        const pool = openTestSql()
        pools.push(pool)
        const c = testCore(pool, { env: { RATE_LIMIT_MAX_ATTEMPTS: '2' } })
        cores.push(c)
        return c
      }
      try {
        const ops: Array<() => Promise<unknown>> = []
        for (let i = 0; i < 7; i++) {
          const c = core()
          ops.push(() => rotateKey(c.ctx, { id: keys[i]! }))
        }
        for (let i = 7; i < 14; i++) {
          const c = core()
          ops.push(() => revokeKey(c.ctx, { id: keys[i]!, reason: `r${i}` }))
        }
        for (let i = 0; i < 6; i++) {
          const c = core()
          const ip = `203.0.113.${10 + i}`
          ops.push(async () => {
            for (let n = 0; n < 2; n++) expect((await verifyKey(c.ctx, { key: generateRawKey('user'), ip })).valid).to.equal(false)
            await c.ctx.bus.drain()
          })
        }
        expect(ops).to.have.length(20)
        await Promise.all(ops.map((op) => op()))
      } finally {
        for (const c of cores) await c.close()
        for (const p of pools) await p.end()
      }

      const audited = 14 + 7 * 2 + 7 + 6 // creates; rotations (key.create + key.rotate); revokes; lockouts
      expect(await seqs()).to.deep.equal(Array.from({ length: audited }, (_, i) => i + 1))
      const counts = await sql`select action, count(*)::int as n from api_key_audit_log group by action order by action`
      expect(counts.map((c) => [c.action, c.n])).to.deep.equal([
        ['ip.lockout', 6],
        ['key.create', 21],
        ['key.revoke', 7],
        ['key.rotate', 7],
      ])
      const r = await verify()
      expect(r.code, r.stdout).to.equal(0)
      expect(r.json).to.deep.include({ ok: true, rows: audited, broken: null })
      expect(r.json.head.seq).to.equal(audited)
    })

    it('given 20 CLI processes writing at once, then the chain verifies gapless', async function () {
      this.timeout(120_000)
      const { spawnJson } = await import('../helpers/cli.js')
      const keys: string[] = []
      for (let i = 0; i < 10; i++) keys.push((await ok('api-key', 'create', '--name', `p${i}`, '--type', 'user')).key.id)
      const runs = await Promise.all([
        ...keys.map((k) => spawnJson(['api-key', 'revoke', k, '--reason', 'parallel'])),
        ...Array.from({ length: 10 }, (_, i) => spawnJson(['api-key', 'create', '--name', `q${i}`, '--type', 'user'])),
      ])
      for (const r of runs) expect(r.code, r.stderr).to.equal(0)
      expect(await seqs()).to.deep.equal(Array.from({ length: 30 }, (_, i) => i + 1))
      const v = await verify()
      expect(v.code, v.stdout).to.equal(0)
      expect(v.json.rows).to.equal(30)
    })
  })

  describe('reseal', () => {
    it('given a deleted tail and the head set back (a restore), when resealed with a reason, then the old checkpoint is superseded, verify exits 0 and the reseal row shows its reason', async () => {
      await seedSix()
      const file = join(dir, 'before-restore.note')
      expect((await runJson(['audit', 'checkpoint', '--out', file])).code).to.equal(0)
      await tamper(`delete from api_key_audit_log where seq > 4;
                    update audit_chain_head set seq = 4;`)
      expectBrokenAt(await verify('--checkpoint', file), 5)

      const reason = 'restored the nightly backup after disk loss'
      const reseal = await runJson(['audit', 'reseal', '--reason', reason])
      expect(reseal.code, reseal.stderr).to.equal(0)
      expect(reseal.json).to.include({ seq: 5, previousHead: 4 })

      const r = await verify('--checkpoint', file)
      expect(r.code, r.stdout).to.equal(0)
      expect(r.json.ok).to.equal(true)
      expect(r.json.broken).to.equal(null)
      expect(r.json.epochs.map((e: any) => e.seq)).to.deep.equal([5])
      expect(r.json.checkpoints).to.have.length(1)
      expect(r.json.checkpoints[0]).to.include({ source: file, seq: 6, status: 'superseded' })

      const page = await list('--action', 'audit.reseal')
      expect(page.json.items).to.have.length(1)
      expect(page.json.items[0]).to.deep.include({ seq: 5, action: 'audit.reseal', target: 'audit' })
      expect(page.json.items[0].details).to.deep.equal({ reason, previousHead: 4, lastCheckpoint: 6 })
    })

    it('given a reseal older than a checkpoint, when the tail after that checkpoint is cut, then the checkpoint still fails (a reseal only covers earlier checkpoints)', async () => {
      await seedSix()
      expect((await runJson(['audit', 'reseal', '--reason', 'an earlier restore'])).code).to.equal(0)
      await ok('api-key', 'create', '--name', 'after-reseal', '--type', 'user')
      const file = join(dir, 'after-reseal.note')
      expect((await runJson(['audit', 'checkpoint', '--out', file])).json.seq).to.equal(8)
      await tamper(`delete from api_key_audit_log where seq > 7;
                    update audit_chain_head set seq = 7;`)
      const r = await verify('--checkpoint', file)
      expectBrokenAt(r, 8)
      expect(r.json.checkpoints[0].status).to.equal('broken')
    })

    it('given an empty --reason, then exit 2 and no row', async () => {
      await seedSix()
      expectOneLineError(await runCli(['audit', 'reseal', '--reason', '  ']), 2, /--reason is empty/)
      expect(await seqs()).to.have.length(6)
    })
  })

  describe('list filters', () => {
    async function seedMixed() {
      const alice = { env: { MOMENTRY_ACTOR: 'cli:alice' } }
      const bob = { env: { MOMENTRY_ACTOR: 'cli:bob' } }
      const a = (await runJson(['api-key', 'create', '--name', 'a', '--type', 'user'], alice)).json.key.id // 1
      const b = (await runJson(['api-key', 'create', '--name', 'b', '--type', 'user'], bob)).json.key.id // 2
      await runJson(['blacklist', 'add', '192.0.2.0/24'], alice) // 3
      const between = new Date()
      // created_at has the process clock's milliseconds: make sure later rows are strictly after `between`.
      while (Date.now() <= between.getTime()) await new Promise((r) => setImmediate(r))
      await runJson(['api-key', 'revoke', a, '--reason', 'x'], bob) // 4
      await runJson(['api-key', 'disable', b], alice) // 5
      expect(await seqs()).to.deep.equal([1, 2, 3, 4, 5])
      return { a, b, between }
    }
    const seqsOf = (r: CliResult) => {
      expect(r.code, r.stderr).to.equal(0)
      return r.json.items.map((e: any) => e.seq)
    }

    it('given mixed rows, then --key, --action (exact and family), --actor and --since each select exactly their rows', async () => {
      const { a, b, between } = await seedMixed()
      expect(seqsOf(await list('--key', a))).to.deep.equal([1, 4])
      expect(seqsOf(await list('--key', b))).to.deep.equal([2, 5])
      expect(seqsOf(await list('--action', 'key.revoke'))).to.deep.equal([4])
      expect(seqsOf(await list('--action', 'key.*'))).to.deep.equal([1, 2, 4, 5])
      expect(seqsOf(await list('--action', 'blacklist.*'))).to.deep.equal([3])
      expect(seqsOf(await list('--action', 'key'))).to.deep.equal([])
      expect(seqsOf(await list('--actor', 'cli:alice'))).to.deep.equal([1, 3, 5])
      expect(seqsOf(await list('--actor', 'cli:bob', '--action', 'key.*'))).to.deep.equal([2, 4])
      expect(seqsOf(await list('--since', between.toISOString()))).to.deep.equal([4, 5])
      expect(seqsOf(await list('--since', '1h'))).to.deep.equal([1, 2, 3, 4, 5])
      expect(seqsOf(await list('--since', new Date(Date.now() + 86_400_000).toISOString()))).to.deep.equal([])
    })

    it('given five rows, when paged with --limit 2 and --cursor, then every row comes once, in order, and the last page has no cursor', async () => {
      await seedMixed()
      const pages: number[][] = []
      let cursor: string | null = null
      for (let i = 0; i < 5; i++) {
        const r: CliResult = await list('--limit', '2', ...(cursor ? ['--cursor', cursor] : []))
        pages.push(seqsOf(r))
        cursor = r.json.nextCursor
        if (!cursor) break
      }
      expect(pages).to.deep.equal([[1, 2], [3, 4], [5]])
      expect(cursor).to.equal(null)
      const exact = await list('--limit', '5')
      expect(seqsOf(exact)).to.deep.equal([1, 2, 3, 4, 5])
      expect(exact.json.nextCursor).to.equal(null)
      const human = await runCli(['audit', 'list', '--limit', '2'])
      expect(human.stderr).to.include('--cursor 2')
    })

    for (const [flag, value, pattern] of [
      ['--cursor', 'abc', /cursor/],
      ['--cursor', '-1', /cursor/],
      ['--since', 'yesterday', /--since "yesterday" is neither a duration nor a date/],
      ['--since', '2026-13-45', /--since/],
      ['--action', 'key.*.*', /action/],
      ['--key', 'not-a-key', /key/],
    ] as Array<[string, string, RegExp]>) {
      it(`given ${flag} ${value}, then exit 2 with one line`, async () => {
        await seedMixed()
        const r = await runCli(['audit', 'list', flag, value])
        expectOneLineError(r, 2, pattern)
        expect(r.stdout).to.equal('')
      })
    }
  })
})
