// Times in messages and detail views: one readable format, to the second, with how far off
// a time someone waits for is. Commands run in this process.
import { expect } from 'chai'

import { expectOneLineError } from '../helpers/assert.js'
import { runCli, runJson } from '../helpers/cli.js'
import { openTestSql, truncateAll } from '../helpers/db.js'

const TIME = /\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/

describe('times shown to people', () => {
  const sql = openTestSql()
  beforeEach(() => truncateAll(sql))
  after(() => sql.end())

  it('given a key rotated with a 90 s grace, when the rotation is reported, then the old key’s end is given to the second and as "in 1 min 30 s"', async () => {
    const created = await runJson(['api-key', 'create', '--name', 'svc', '--type', 'service'])
    const r = await runCli(['api-key', 'rotate', created.json.key.id, '--grace', '90s'])
    expect(r.code, r.stderr).to.equal(0)
    const m = new RegExp(`${created.json.key.id} keeps working until (${TIME.source}) \\(in 1 min (29|30) s\\)`).exec(r.stderr)
    expect(m, r.stderr).to.not.equal(null)
    expect(Math.abs(Date.parse(m![1]!.replace(' ', 'T')) - (Date.now() + 90_000))).to.be.below(3000)
  })

  it('given a key revoked already, when revoked again, then the conflict names the time readably, not as raw ISO', async () => {
    const created = await runJson(['api-key', 'create', '--name', 'svc', '--type', 'service'])
    await runJson(['api-key', 'revoke', created.json.key.id])
    const r = await runCli(['api-key', 'revoke', created.json.key.id])
    expectOneLineError(r, 6, new RegExp(`already revoked \\(since ${TIME.source}\\)`))
    expect(r.stderr).not.to.match(/T\d\d:\d\d:\d\d\.\d{3}Z/)
  })

  it('given a key expiring in 90 days, when shown, then created is to the second and expires says how far off it is', async () => {
    const created = await runJson(['api-key', 'create', '--name', 'svc', '--type', 'service', '--expires-in', '90d'])
    const r = await runCli(['api-key', 'show', created.json.key.id])
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.match(new RegExp(`created\\s+${TIME.source} by `))
    expect(r.stdout).to.match(new RegExp(`expires\\s+${TIME.source} \\(in 90 d\\)`))
    expect(r.stdout).to.match(new RegExp(`history\\n  ${TIME.source}  key\\.create`))
  })

  it('given --since after --until, when a usage report is asked for, then both times are readable in the error', async () => {
    const r = await runCli(['report', 'usage', '--since', '2027-02-01', '--until', '2027-01-01'])
    expectOneLineError(r, 2, /--since \(2027-02-01 00:00:00Z\) is not before --until \(2027-01-01 00:00:00Z\)/)
  })
})
