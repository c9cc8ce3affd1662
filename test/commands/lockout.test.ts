import { randomInt } from 'node:crypto'

import { expect } from 'chai'

import { expectJsonError, expectOneLineError } from '../helpers/assert.js'
import { runCli, runJson } from '../helpers/cli.js'
import { auditRows, openTestSql, truncateAll } from '../helpers/db.js'

/** A fresh documentation-range address per test: Redis counters outlive the tables. */
const freshIp = () => `203.0.${randomInt(0, 255)}.${randomInt(1, 254)}`

describe('lockout commands', () => {
  const sql = openTestSql()
  beforeEach(() => truncateAll(sql))
  after(() => sql.end())

  const fail = async (ip: string, times: number, env: Record<string, string> = {}) => {
    for (let i = 0; i < times; i++) await runJson(['api-key', 'validate', '--ip', ip], { input: 'mtry_nope', env })
  }

  for (const [mode, env] of [
    ['with Redis', {}],
    ['without Redis', { REDIS_URL: '' }],
  ] as const) {
    it(`given an address locked out and one with two failures (${mode}), when listed, then only the locked-out one shows, with its time left`, async () => {
      const locked = freshIp()
      const partly = freshIp()
      await fail(locked, 5, env)
      await fail(partly, 2, env)
      const list = await runJson(['lockout', 'list'], { env })
      expect(list.code, list.stderr).to.equal(0)
      const mine = list.json.items.filter((l: { ip: string }) => l.ip === locked || l.ip === partly)
      expect(mine.map((l: { ip: string }) => l.ip)).to.deep.equal([locked])
      expect(mine[0].retryAfterSeconds).to.be.within(890, 900)
      const text = await runCli(['lockout', 'list'], { env })
      expect(text.stdout).to.include(locked).and.match(/1[45]m \d\ds/)
    })

    it(`given an address with two failures (${mode}), when cleared, then they are forgotten (not locked out) and it takes five more to lock it`, async () => {
      const ip = freshIp()
      await fail(ip, 2, env)
      const r = await runJson(['lockout', 'clear', ip], { env })
      expect(r.code, r.stderr).to.equal(0)
      expect(r.json).to.deep.equal({ cleared: [{ ip, wasLockedOut: false, attempts: 2, retryAfterSeconds: 0 }] })
      await fail(ip, 4, env)
      const key = (await runJson(['api-key', 'create', '--name', 'k', '--type', 'user'], { env })).json.secret
      expect((await runJson(['api-key', 'validate', '--ip', ip], { input: key, env })).code).to.equal(0)
    })
  }

  for (const [mode, env] of [
    ['with Redis', {}],
    ['without Redis', { REDIS_URL: '' }],
  ] as const) {
    it(`given failures from five addresses of one IPv6 /64 (${mode}), when listed, then the /64 is locked out and audited as such; cleared by any address inside it, it may validate again`, async () => {
      const net = `2001:db8:${randomInt(0, 0xffff).toString(16)}:${randomInt(0, 0xffff).toString(16)}`
      for (let i = 1; i <= 5; i++) await fail(`${net}::${i}`, 1, env)
      const list = await runJson(['lockout', 'list'], { env })
      expect(list.json.items.map((l: { ip: string }) => l.ip)).to.include(`${net}::/64`)
      const [locked] = await auditRows(sql, { action: 'ip.lockout' })
      expect(locked).to.include({ target: `${net}::/64` })
      const key = (await runJson(['api-key', 'create', '--name', 'k6', '--type', 'user'], { env })).json.secret
      expect((await runJson(['api-key', 'validate', '--ip', `${net}::abcd`], { input: key, env })).json).to.include({ valid: false, code: 'RATE_LIMITED' })
      const r = await runJson(['lockout', 'clear', `${net}:ffff::1`], { env })
      expect(r.code, r.stderr).to.equal(0)
      expect(r.json.cleared).to.deep.equal([{ ip: `${net}::/64`, wasLockedOut: true, attempts: 5, retryAfterSeconds: r.json.cleared[0].retryAfterSeconds }])
      expect((await runJson(['api-key', 'validate', '--ip', `${net}::abcd`], { input: key, env })).code).to.equal(0)
      // The network as listed is taken too; another prefix is not this counter's.
      expect((await runJson(['lockout', 'clear', `${net}::/64`], { env })).code).to.equal(5)
      expect((await runJson(['lockout', 'clear', `${net}::/48`], { env })).code).to.equal(2)
    })
  }

  it('given a locked-out address, when cleared in its IPv4-mapped IPv6 spelling, then the lockout is lifted, said in a line, and audited', async () => {
    const ip = freshIp()
    await fail(ip, 5)
    const r = await runCli(['lockout', 'clear', `::ffff:${ip}`])
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.match(new RegExp(`^${ip.replaceAll('.', '\\.')}: lockout lifted \\(1[45]m \\d\\ds were left\\)`))
    const [row] = await auditRows(sql, { action: 'ip.lockout_cleared' })
    expect(row).to.include({ ip, target: ip })
    expect(row!.details).to.include({ wasLockedOut: true, attempts: 5, all: false })
  })

  it('given an address with nothing counted against it, when cleared, then exit 5 NOT_FOUND and nothing is audited', async () => {
    expectJsonError(await runJson(['lockout', 'clear', freshIp()]), 5, 'NOT_FOUND')
    expectOneLineError(await runCli(['lockout', 'clear', freshIp()]), 5, /is not locked out.*lockout list/)
    expect(await auditRows(sql, { action: 'ip.lockout_cleared' })).to.deep.equal([])
  })

  it('given no address and no --all, or both, or something that is not an address, then exit 2 with one line', async () => {
    expectOneLineError(await runCli(['lockout', 'clear']), 2, /name the IP address to lift, or --all/)
    expectOneLineError(await runCli(['lockout', 'clear', '203.0.113.7', '--all']), 2, /not both/)
    for (const bad of ['999.1.1.1', 'localhost', '10.0.0.0/8', "1.2.3.4'; drop table ip_failures;--"]) {
      expectJsonError(await runJson(['lockout', 'clear', bad]), 2, 'USAGE_ERROR')
    }
  })

  it('given nothing locked out, when cleared with --all, then exit 0, an empty list and no audit row', async () => {
    await runJson(['lockout', 'clear', '--all'])
    const r = await runJson(['lockout', 'clear', '--all'])
    expect([r.code, r.json]).to.deep.equal([0, { cleared: [] }])
    expect((await runCli(['lockout', 'clear', '--all'])).stdout.trim()).to.equal('No IP address was locked out.')
  })

  it('given REDIS_URL pointing at a closed port, when listed or cleared, then exit 8 naming Redis', async () => {
    const env = { REDIS_URL: 'redis://127.0.0.1:1' }
    expectOneLineError(await runCli(['lockout', 'list'], { env }), 8, /Redis is unreachable/)
    expectJsonError(await runJson(['lockout', 'clear', '203.0.113.7'], { env }), 8, 'CONNECTION_ERROR')
  })
})
