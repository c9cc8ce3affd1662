import { expect } from 'chai'

import { expectJsonError, expectOneLineError } from '../helpers/assert.js'
import { runCli, runJson } from '../helpers/cli.js'
import { auditRows, openTestSql, truncateAll } from '../helpers/db.js'

describe('blacklist commands', () => {
  const sql = openTestSql()
  beforeEach(() => truncateAll(sql))
  after(() => sql.end())

  it('given an address and a range, when added, then they are listed, normalised and audited', async () => {
    const one = await runJson(['blacklist', 'add', '203.0.113.7', '--reason', 'stuffing'])
    expect(one.code).to.equal(0)
    expect(one.json.entry).to.include({ network: '203.0.113.7/32', reason: 'stuffing', active: true })
    expect(one.json).to.include({ created: true, hostBitsDropped: false, typed: '203.0.113.7' })
    const range = await runJson(['blacklist', 'add', '198.51.100.77/24', '--expires-in', '7d'])
    expect(range.json.entry.network).to.equal('198.51.100.0/24') // host bits cleared
    expect(range.json.hostBitsDropped).to.equal(true)
    expect((Date.parse(range.json.entry.expiresAt) - Date.now()) / 86_400_000).to.be.closeTo(7, 0.01)
    const v6 = await runJson(['blacklist', 'add', '2001:db8::1/32'])
    expect(v6.json.entry.network).to.equal('2001:db8::/32')
    expect(v6.json.hostBitsDropped).to.equal(true)
    const list = await runJson(['blacklist', 'list'])
    expect(list.json.items.map((e: any) => e.network).sort()).to.deep.equal(['198.51.100.0/24', '2001:db8::/32', '203.0.113.7/32'])
    const audit = await sql`select action, ip_address from api_key_audit_log order by seq`
    expect(audit.map((a) => a.action)).to.deep.equal(['blacklist.add', 'blacklist.add', 'blacklist.add'])
  })

  it('given an existing range, when added again, then it is updated, not duplicated', async () => {
    await runJson(['blacklist', 'add', '203.0.113.0/24', '--reason', 'first'])
    const again = await runJson(['blacklist', 'add', '203.0.113.0/24', '--reason', 'second'])
    expect(again.json.entry).to.include({ reason: 'second' })
    expect(again.json).to.include({ created: false })
    expect((await runJson(['blacklist', 'list'])).json.items).to.have.length(1)
  })

  it('given a listed range with a reason and an expiry, when added again with nothing new, then both are kept and it says nothing changed', async () => {
    const first = await runJson(['blacklist', 'add', '203.0.113.0/24', '--reason', 'stuffing', '--expires-in', '7d'])
    const again = await runJson(['blacklist', 'add', '203.0.113.0/24'])
    expect(again.code).to.equal(0)
    expect(again.json).to.deep.include({ created: false, changes: [] })
    expect(again.json.entry).to.include({ reason: 'stuffing', expiresAt: first.json.entry.expiresAt })
    const text = await runCli(['blacklist', 'add', '203.0.113.0/24'])
    expect(text.stdout).to.match(/^203\.0\.113\.0\/24 is already on the blacklist; nothing changed \(reason "stuffing", expires \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \(in 7 d\)\)\.\n$/)
  })

  it('given a listed range, when added again with only a new reason, then the expiry is kept and the change is named, before and after', async () => {
    const first = await runJson(['blacklist', 'add', '203.0.113.0/24', '--reason', 'first', '--expires-in', '7d'])
    const again = await runJson(['blacklist', 'add', '203.0.113.0/24', '--reason', 'second'])
    expect(again.json.changes).to.deep.equal([{ field: 'reason', from: 'first', to: 'second' }])
    expect(again.json.entry.expiresAt).to.equal(first.json.entry.expiresAt)
    const text = await runCli(['blacklist', 'add', '203.0.113.0/24', '--reason', 'third'])
    expect(text.stdout).to.match(/^203\.0\.113\.0\/24 updated: reason "second" → "third"; kept expires \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \(in 7 d\)\.\n$/)
    const audit = (await auditRows(sql, { action: 'blacklist.add' })).map((r) => r.details)
    expect(audit.at(-1)).to.deep.include({ reason: 'third', updated: true, changed: ['reason'] })
  })

  it('given a listed range with an expiry, when added with --permanent, then the expiry is dropped and the reason kept', async () => {
    await runJson(['blacklist', 'add', '203.0.113.0/24', '--reason', 'abuse', '--expires-in', '1d'])
    const r = await runJson(['blacklist', 'add', '203.0.113.0/24', '--permanent'])
    expect(r.json.entry).to.include({ reason: 'abuse', expiresAt: null })
    expect(r.json.changes).to.have.length(1)
    expect(r.json.changes[0]).to.include({ field: 'expiresAt', to: null })
    expectOneLineError(await runCli(['blacklist', 'add', '203.0.113.0/24', '--permanent', '--expires-in', '1d']), 2)
  })

  it('given an address with host bits, when added, then the whole range is blocked and the text says the host bits were dropped', async () => {
    const text = await runCli(['blacklist', 'add', '198.51.100.5/24'])
    expect(text.code).to.equal(0)
    expect(text.stdout).to.equal('198.51.100.0/24 added\nNote: 198.51.100.5/24 has host bits set; they were dropped, so the whole range 198.51.100.0/24 is blocked.\n')
    const exact = await runCli(['blacklist', 'add', '198.51.100.0/24'])
    expect(exact.stdout).not.to.include('host bits')
    const single = await runJson(['blacklist', 'add', '198.51.100.9'])
    expect(single.json.hostBitsDropped).to.equal(false)
  })

  it('given a blacklisted range, when a valid key is validated from inside it, then BLACKLISTED (exit 4); outside it is valid', async () => {
    const key = (await runJson(['api-key', 'create', '--name', 'k', '--type', 'user'])).json.secret
    await runJson(['blacklist', 'add', '2001:db8::/32'])
    const inside = await runJson(['api-key', 'validate', '--ip', '2001:db8::42'], { input: key })
    expect([inside.code, inside.json]).to.deep.equal([4, { valid: false, code: 'BLACKLISTED' }])
    expect((await runJson(['api-key', 'validate', '--ip', '2001:db9::42'], { input: key })).code).to.equal(0)
  })

  it('given an entry whose expiry has passed, then it no longer blocks and lists as inactive', async () => {
    const key = (await runJson(['api-key', 'create', '--name', 'k', '--type', 'user'])).json.secret
    await runJson(['blacklist', 'add', '192.0.2.0/24', '--expires-in', '1s'])
    await new Promise((r) => setTimeout(r, 1100))
    expect((await runJson(['api-key', 'validate', '--ip', '192.0.2.5'], { input: key })).code).to.equal(0)
    expect((await runJson(['blacklist', 'list'])).json.items[0].active).to.equal(false)
  })

  it('given an entry, when removed, then it is gone and the removal is audited', async () => {
    await runJson(['blacklist', 'add', '192.0.2.0/24'])
    const r = await runJson(['blacklist', 'remove', '192.0.2.9/24'])
    expect(r.code).to.equal(0)
    expect(r.json.entry.network).to.equal('192.0.2.0/24')
    expect((await runJson(['blacklist', 'list'])).json).to.deep.equal({ items: [] })
    const [last] = await sql`select action from api_key_audit_log order by seq desc limit 1`
    expect(last!.action).to.equal('blacklist.remove')
  })

  for (const bad of ['999.1.1.1', '10.0.0.0/33', '2001:db8::/129', 'example.com', '10.0.0.1/8/9', "1.2.3.4'; drop table ip_blacklist;--", '']) {
    it(`given "${bad}", when added, then a usage error (exit 2) and nothing is written`, async () => {
      expectOneLineError(await runCli(['blacklist', 'add', bad]), 2, bad === '' ? undefined : /is not an IP address or CIDR range/)
      const { n } = (await sql`select count(*)::int as n from ip_blacklist`)[0]!
      expect(n).to.equal(0)
    })
  }

  it('given a range that is not listed, when removed, then not found (exit 5)', async () => {
    expectJsonError(await runJson(['blacklist', 'remove', '192.0.2.0/24']), 5, 'NOT_FOUND')
  })
})
