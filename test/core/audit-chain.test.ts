import { createHash, randomBytes } from 'node:crypto'

import { expect } from 'chai'
import fc from 'fast-check'

import { openAuditRow } from '../../src/core/audit/list-audit.js'
import type { AuditAction, AuditEntry } from '../../src/core/audit/repo.js'
import { appendAudit, findAuditRows } from '../../src/core/audit/repo.js'
import { GENESIS, verifyChain } from '../../src/core/audit/verify-chain.js'
import type { CoreContext } from '../../src/core/context.js'
import type { Sql } from '../../src/core/db/connect.js'
import { openTestSql, testContext, truncateAll } from '../helpers/db.js'

/**
 * The row hash written out from SPEC §10 / migration 0009, independently of both the SQL
 * function and the verifier: SHA-256(prev ‖ "momentry-audit-v1\n" ‖ fields), each field a
 * 4-byte big-endian length (-1 for NULL) and its bytes.
 */
function specHash(prev: Buffer, fields: Array<string | Buffer | null>): Buffer {
  const h = createHash('sha256').update(prev).update('momentry-audit-v1\n', 'utf8')
  for (const f of fields) {
    const len = Buffer.alloc(4)
    if (f === null) {
      len.writeInt32BE(-1)
      h.update(len)
      continue
    }
    const bytes = typeof f === 'string' ? Buffer.from(f, 'utf8') : f
    len.writeInt32BE(bytes.length)
    h.update(len).update(bytes)
  }
  return h.digest()
}

interface RawRow {
  seq: string
  micros: string
  actor: string
  action: string
  target: string | null
  key_id: string | null
  ip: string | null
  audit_key_id: string | null
  nonce: Buffer | null
  ciphertext: Buffer | null
  legacy_details: string | null
  prev_hash: Buffer
  hash: Buffer
  sql_hash: Buffer
}

const rawRows = (sql: Sql) => sql<RawRow[]>`
  select seq::text, ((extract(epoch from created_at) * 1000000)::bigint)::text as micros, actor, action, target, key_id,
         abbrev(ip_address) as ip, audit_key_id, nonce, ciphertext, legacy_details, prev_hash, hash,
         momentry_audit_hash(prev_hash, seq, created_at, actor, action, target, key_id, ip_address, audit_key_id, nonce, ciphertext, legacy_details) as sql_hash
  from api_key_audit_log order by api_key_audit_log.seq`

/** Walk the chain with the spec's hash: every stored hash is the spec's and the SQL function's, and links hold. */
async function expectSpecChain(sql: Sql): Promise<RawRow[]> {
  const rows = await rawRows(sql)
  let prev: Buffer = GENESIS
  rows.forEach((r, i) => {
    expect(Number(r.seq)).to.equal(i + 1)
    expect(r.prev_hash.equals(prev), `row ${r.seq} prev_hash`).to.equal(true)
    const mine = specHash(prev, [r.seq, r.micros, r.actor, r.action, r.target, r.key_id, r.ip, r.audit_key_id, r.nonce, r.ciphertext, r.legacy_details])
    expect(mine.toString('hex'), `row ${r.seq}: spec hash vs stored`).to.equal(r.hash.toString('hex'))
    expect(r.sql_hash.toString('hex'), `row ${r.seq}: SQL function vs stored`).to.equal(r.hash.toString('hex'))
    prev = r.hash
  })
  return rows
}

const ORIGIN = 'momentry-audit/00000000-0000-0000-0000-000000000000'

/** Fails (instead of hanging the run) when `p` has not settled within `ms`. */
function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)
  })
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer))
}

describe('audit chain (core)', () => {
  let sql: Sql
  let ctx: CoreContext

  before(() => {
    sql = openTestSql()
  })
  after(() => sql.end())
  beforeEach(async () => {
    await truncateAll(sql)
    ctx = testContext(sql)
  })

  const append = (entry: AuditEntry) => sql.begin((tx) => appendAudit(ctx, tx, entry))
  const walk = () => within(10_000, 'verifyChain', verifyChain(ctx, [], ORIGIN))

  /** A row from before encryption, appended through the head (triggers on), details in clear. */
  const appendLegacy = (r: { at: string; actor: string; action: string; keyId: string | null; ip: string | null; details: string | null }) =>
    sql.begin(async (tx) => {
      const [head] = await tx<Array<{ seq: string }>>`update audit_chain_head set seq = seq + 1 returning seq`
      await tx`insert into api_key_audit_log (seq, created_at, actor, action, target, key_id, ip_address, legacy_details)
               values (${head!.seq}, ${r.at}::text::timestamptz, ${r.actor}, ${r.action}, ${r.keyId ?? r.ip}, ${r.keyId}, ${r.ip}::inet, ${r.details})`
    })

  it('given rows with NULLs, a unicode actor, IPv6 and IPv4 addresses and legacy plaintext rows, then the spec hash, the SQL function and the verifier agree', async () => {
    const at = new Date('2026-03-04T05:06:07.891Z')
    await append({ keyId: null, action: 'ip.lockout', actor: 'test:runner', ip: '2001:db8::1', at, details: { attempts: 5 } })
    await append({ keyId: 'key_0123456789abcdef', action: 'key.revoke', actor: 'cli:Zoë 👩‍💻 שלום ﷺ e\u0301', at, details: { reason: 'naïve – “quoted” \u0000 nul' } })
    await append({ keyId: null, action: 'blacklist.add', actor: 'cli:a', ip: '192.0.2.1', target: null, at, details: {} })
    await append({ keyId: null, action: 'audit.reseal', actor: 'cli:a', target: null, at: new Date('1969-12-31T23:59:59.999Z'), details: { reason: null } })
    await appendLegacy({ at: '2025-01-02 03:04:05.123456+00', actor: 'cli:old', action: 'key.create', keyId: 'key_aaaaaaaaaaaaaaaa', ip: null, details: '{"name": "legacy", "n": 1}' })
    await appendLegacy({ at: '2025-01-02 03:04:05.999999+00', actor: 'cli:old', action: 'ip.lockout', keyId: null, ip: '::ffff:198.51.100.7', details: null })
    await append({ keyId: 'key_0123456789abcdef', action: 'key.enable', actor: 'x', at, details: { after: 'legacy' } })

    const rows = await expectSpecChain(sql)
    expect(rows).to.have.length(7)
    expect(rows.map((r) => r.ip)).to.deep.equal(['2001:db8::1', null, '192.0.2.1', null, null, '::ffff:198.51.100.7', null])
    expect(rows.map((r) => r.target)).to.deep.equal(['2001:db8::1', 'key_0123456789abcdef', '192.0.2.1', null, 'key_aaaaaaaaaaaaaaaa', '::ffff:198.51.100.7', 'key_0123456789abcdef'])
    expect(rows[0]!.micros).to.equal(String(at.getTime() * 1000))
    expect(rows[3]!.micros).to.equal('-1000')
    expect(rows[4]!.micros).to.equal(String(Date.parse('2025-01-02T03:04:05.123Z') * 1000 + 456))
    expect(rows.map((r) => r.audit_key_id === null)).to.deep.equal([false, false, false, false, true, true, false])

    const report = await walk()
    expect(report).to.deep.include({ ok: true, rows: 7, broken: null })
    expect(report.head.seq).to.equal(7)
    expect(report.epochs).to.deep.equal([{ seq: 4, at: '1969-12-31T23:59:59.999Z' }])

    const shown = await Promise.all((await findAuditRows(sql, { limit: 100 })).map((r) => openAuditRow(ctx.audit, r, 'throw')))
    expect(shown.map((e) => e.details)).to.deep.equal([
      { attempts: 5 },
      { reason: 'naïve – “quoted” \u0000 nul' },
      {},
      { reason: null },
      { name: 'legacy', n: 1 },
      {},
      { after: 'legacy' },
    ])
    expect(shown[1]!.actor).to.equal('cli:Zoë 👩‍💻 שלום ﷺ e\u0301')
  })

  it('given a legacy row edited, then the verifier breaks at it (legacy details are covered by the hash)', async () => {
    await appendLegacy({ at: '2025-01-02 03:04:05+00', actor: 'cli:old', action: 'key.create', keyId: 'key_aaaaaaaaaaaaaaaa', ip: null, details: '{"name":"legacy"}' })
    await append({ keyId: null, action: 'key.enable', actor: 'x', at: new Date(), details: {} })
    await sql.begin((tx) => tx.unsafe(`set local session_replication_role = replica; update api_key_audit_log set legacy_details = '{"name":"other"}' where seq = 1`))
    const report = await walk()
    expect(report.ok).to.equal(false)
    expect(report.broken).to.deep.include({ seq: 1 })
  })

  it('given an append that fails inside its transaction (a NUL in the actor), then it leaves no gap and no head movement', async () => {
    await append({ keyId: null, action: 'key.enable', actor: 'a', at: new Date(), details: {} })
    const failed = await append({ keyId: null, action: 'key.enable', actor: 'bad\u0000actor', at: new Date(), details: {} }).then(
      () => undefined,
      (e: Error) => e,
    )
    expect(failed).to.be.instanceOf(Error)
    expect(await append({ keyId: null, action: 'key.enable', actor: 'b', at: new Date(), details: {} })).to.equal('2')
    expect((await walk()).ok).to.equal(true)
    await expectSpecChain(sql)
  })

  it('given a few hundred small rows, then the chain is walked again and again, and the connection stays usable after each walk', async () => {
    await sql.begin(async (tx) => {
      for (let i = 0; i < 400; i++) await appendAudit(ctx, tx, { keyId: 'key_0123456789abcdef', action: 'key.enable', actor: 'cli:someone', at: new Date(), details: { n: i } })
    })
    for (let i = 0; i < 5; i++) {
      expect(await walk()).to.deep.include({ ok: true, rows: 400, broken: null })
      expect(await within(5000, 'a query after the walk', sql`select 1 as one`)).to.deep.equal([{ one: 1 }])
    }
  })

  it('given a long chain broken at its first row, then the walk reports row 1 (it does not fail half way through the COPY)', async () => {
    await sql.begin(async (tx) => {
      for (let i = 0; i < 1000; i++) await appendAudit(ctx, tx, { keyId: null, action: 'key.enable', actor: 'cli:someone', at: new Date(), details: { n: i } })
    })
    await sql.begin((tx) => tx.unsafe(`set local session_replication_role = replica; update api_key_audit_log set actor = 'cli:mallory' where seq = 1`))
    for (let i = 0; i < 3; i++) {
      const report = await walk()
      expect(report.ok).to.equal(false)
      expect(report.broken).to.deep.include({ seq: 1 })
      expect(report.rows).to.equal(0)
    }
    expect(await within(5000, 'a query after the walk', sql`select count(*)::int as n from api_key_audit_log`)).to.deep.equal([{ n: 1000 }])
  })

  it('given rows larger than a COPY chunk, then the streaming verifier walks them all, and finds a byte flipped deep in one', async function () {
    this.timeout(60_000)
    const sizes = Array.from({ length: 40 }, (_, i) => (i * 7919) % 150_000)
    for (const [i, size] of sizes.entries()) {
      await append({ keyId: null, action: 'key.enable', actor: `a${i}`, at: new Date(), details: { blob: randomBytes(size >> 1).toString('hex') } })
    }
    const report = await walk()
    expect(report).to.deep.include({ ok: true, rows: 40, broken: null })
    await sql.begin((tx) =>
      tx.unsafe(`set local session_replication_role = replica;
                 update api_key_audit_log set ciphertext = set_byte(ciphertext, length(ciphertext) - 20, get_byte(ciphertext, length(ciphertext) - 20) # 128) where seq = 31`),
    )
    const broken = await walk()
    expect(broken.ok).to.equal(false)
    expect(broken.broken).to.deep.include({ seq: 31 })
    expect(broken.rows).to.equal(30)
  })

  it('property: random field values appended through appendAudit verify, hash as the spec says and decrypt to what was written', async function () {
    this.timeout(120_000)
    const actions: AuditAction[] = ['key.create', 'key.revoke', 'ip.lockout', 'blacklist.add', 'audit.reseal', 'gitea.token.rotate', 'n8n.key.delete']
    const text = (min = 0) => fc.string({ unit: 'grapheme', minLength: min, maxLength: 40 }).filter((s) => !s.includes('\u0000'))
    const entry = fc.record({
      keyId: fc.option(text(1), { nil: null }),
      action: fc.constantFrom(...actions),
      actor: text(1),
      ip: fc.option(fc.oneof(fc.ipV4(), fc.ipV6()), { nil: null }),
      target: fc.option(text(), { nil: undefined }),
      at: fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2200-01-01T00:00:00Z'), noInvalidDate: true }),
      details: fc.dictionary(fc.string({ unit: 'binary', maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 }),
    })
    let total = 0
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 4 }), async (entries) => {
        const from = total
        for (const e of entries) {
          const seq = await append(e as AuditEntry)
          expect(seq).to.equal(String(++total))
        }
        const report = await walk()
        expect(report.broken).to.equal(null)
        expect(report).to.deep.include({ ok: true, rows: total })
        const rows = await findAuditRows(sql, { afterSeq: String(from), limit: 100 })
        expect(rows).to.have.length(entries.length)
        for (const [i, r] of rows.entries()) {
          const e = entries[i]!
          const shown = await openAuditRow(ctx.audit, r, 'throw')
          expect(shown.details).to.deep.equal(JSON.parse(JSON.stringify(e.details)))
          expect(shown.actor).to.equal(e.actor)
          expect(shown.action).to.equal(e.action)
          expect(shown.keyId).to.equal(e.keyId)
          expect(shown.target).to.equal(e.target ?? e.keyId ?? e.ip)
          expect(shown.at).to.equal(e.at.toISOString())
          expect(shown.ip === null).to.equal(e.ip === null)
        }
      }),
      { numRuns: 40 },
    )
    await expectSpecChain(sql)
  })
})
