import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { expect } from 'chai'

import { expectJsonError, expectOneLineError } from '../helpers/assert.js'
import { runCli, runJson } from '../helpers/cli.js'
import { openTestSql, truncateAll } from '../helpers/db.js'

describe('report security (CLI)', function () {
  this.timeout(60_000)
  const sql = openTestSql()
  let dir: string
  const id = { billing: '', ci: '' }
  // A fixed window in the future of every key created here, so the failure counts never move.
  const WINDOW = ['--since', '3d', '--until', '2031-03-04']

  before(async () => {
    await truncateAll(sql)
    dir = mkdtempSync(join(tmpdir(), 'momentry-security-'))
    id.billing = (await runJson(['api-key', 'create', '--name', 'billing', '--type', 'service', '--owner', '=payments'])).json.key.id
    id.ci = (await runJson(['api-key', 'create', '--name', 'ci', '--type', 'integration', '--expires-in', '10d'])).json.key.id
    const rows: [string, string, string, string, number][] = [
      ['2031-02-28T23:59:00Z', 'NOT_FOUND', '192.0.2.1', '', 50],
      ['2031-03-01T10:00:00Z', 'NOT_FOUND', '192.0.2.1', '', 4],
      ['2031-03-01T10:00:00Z', 'INSUFFICIENT_SCOPE', '192.0.2.1', id.billing, 1],
      ['2031-03-02T12:00:00Z', 'BLACKLISTED', '198.51.100.7', '', 3],
      ['2031-03-03T23:59:00Z', 'MALFORMED', '', '', 2],
      ['2031-03-04T00:00:00Z', 'NOT_FOUND', '192.0.2.1', '', 70],
    ]
    for (const [minute, code, ip, key, count] of rows) {
      await sql`insert into validation_failure_minute (minute, code, ip, key_id, count) values (${minute}, ${code}, ${ip}, ${key}, ${count})`
    }
  })
  after(async () => {
    rmSync(dir, { recursive: true, force: true })
    await truncateAll(sql)
    await sql.end()
  })

  it('given seeded failures, when `report security --json` runs over a fixed window, then the result is the typed report with exact counts', async () => {
    const r = await runJson(['report', 'security', ...WINDOW])
    expect(r.code, r.stderr).to.equal(0)
    expect(r.json).to.deep.include({ since: '2031-03-01T00:00:00.000Z', until: '2031-03-04T00:00:00.000Z', days: ['2031-03-01', '2031-03-02', '2031-03-03'] })
    expect(r.json.totals).to.deep.equal({
      failures: 10,
      failuresOfKnownKeys: 1,
      lockouts: 0,
      blacklistHits: 3,
      anomalies: 0,
      rotationOverdue: 0,
      expiringSoon: 1,
      withoutExpiry: 1,
      withoutOwner: 1,
    })
    expect(r.json.failuresByCode.filter((f: any) => f.count)).to.deep.equal([
      { code: 'MALFORMED', count: 2 },
      { code: 'NOT_FOUND', count: 4 },
      { code: 'INSUFFICIENT_SCOPE', count: 1 },
      { code: 'BLACKLISTED', count: 3 },
    ])
    expect(r.json.failuresBySource).to.deep.equal([
      { ip: '192.0.2.1', count: 5, byCode: { NOT_FOUND: 4, INSUFFICIENT_SCOPE: 1 }, lastAt: '2031-03-01T10:00:00.000Z' },
      { ip: '198.51.100.7', count: 3, byCode: { BLACKLISTED: 3 }, lastAt: '2031-03-02T12:00:00.000Z' },
    ])
    expect(r.json.failuresWithoutSource).to.equal(2)
    expect(r.json.blacklistHits).to.deep.equal([{ ip: '198.51.100.7', count: 3, network: null, lastAt: '2031-03-02T12:00:00.000Z' }])
    expect(r.json.expiringSoon.map((k: any) => [k.keyId, k.daysLeft])).to.deep.equal([[id.ci, 10]])
    expect(r.json.withoutExpiry.map((k: any) => k.keyId)).to.deep.equal([id.billing])
    expect(r.json.withoutOwner.map((k: any) => k.keyId)).to.deep.equal([id.ci])
    expect(r.json.summary.audit).to.include({ ok: true, broken: null })
  })

  it('given a one-shot `api-key validate` refused from one IP until it is locked out, then each refusal is flushed by code and the lockout is in the report', async () => {
    const ip = '192.0.2.99'
    for (let i = 0; i < 5; i++) expect((await runCli(['api-key', 'validate', '--ip', ip], { input: 'not-a-key\n' })).code).to.equal(3)
    expect((await runJson(['api-key', 'validate', '--ip', ip], { input: 'not-a-key\n' })).json).to.include({ valid: false, code: 'RATE_LIMITED' })
    expect((await sql`select code, sum(count)::int as n from validation_failure_minute where ip = ${ip} group by 1 order by 1`).map((x) => [x.code, x.n])).to.deep.equal([
      ['MALFORMED', 5],
      ['RATE_LIMITED', 1],
    ])
    const r = await runJson(['report', 'security', '--since', '1h'])
    expect(r.code, r.stderr).to.equal(0)
    expect(r.json.failuresBySource).to.deep.equal([{ ip, count: 6, byCode: { MALFORMED: 5, RATE_LIMITED: 1 }, lastAt: r.json.failuresBySource[0].lastAt }])
    expect(r.json.lockouts).to.have.length(1)
    expect(r.json.lockouts[0]).to.include({ ip, attempts: 5 })
    expect(r.json.totals).to.include({ failures: 6, lockouts: 1 })
  })

  it('given --format csv --out FILE, then the file is written whole (no temporary file left), one row per fact, formula-like cells defused', async () => {
    const file = join(dir, 'security.csv')
    writeFileSync(file, 'an older report\n')
    const r = await runCli(['report', 'security', ...WINDOW, '--format', 'csv', '--out', file])
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.equal('')
    expect(r.stderr).to.match(/Wrote the security report over 3 day\(s\) \(10 failure\(s\)\) to .*security\.csv \(csv\)/)
    const lines = readFileSync(file, 'utf8').split('\r\n')
    expect(lines[0]).to.equal('section,day,code,ip,key id,name,kind,owner,status,severity,count,at,detail')
    expect(lines).to.include.members([
      'total,,,,,,failures,,,,10,,',
      'failures,2031-03-01,NOT_FOUND,,,,,,,,4,,',
      'failures by source,,INSUFFICIENT_SCOPE,192.0.2.1,,,,,,,1,2031-03-01T10:00:00.000Z,',
      'failures by source,,,,,,no source IP,,,,2,,',
      'blacklist hit,,,198.51.100.7,,,,,,,3,2031-03-02T12:00:00.000Z,(removed)',
    ])
    expect(lines.find((l) => l.startsWith(`without expiry,,,,${id.billing},`))).to.match(new RegExp(`^without expiry,,,,${id.billing},billing,service,'=payments,active,,,`))
    expect(readdirSync(dir)).to.deep.equal(['security.csv'])
  })

  it('given --format md, then stdout is the Markdown report with its sections', async () => {
    const r = await runCli(['report', 'security', ...WINDOW, '--format', 'md'])
    expect(r.code, r.stderr).to.equal(0)
    const lines = r.stdout.split('\n')
    expect(lines[0]).to.equal('# Security report (2031-03-01 00:00Z – 2031-03-04 00:00Z)')
    expect(lines[2]).to.match(/^10 failed validations \(1 of known keys\), 0 lockout\(s\), 3 blacklist hit\(s\), 0 anomaly\(ies\) over 3 day\(s\); 0 key\(s\) overdue for rotation, 1 expiring within 30 days, 1 without expiry, 1 without owner; audit chain intact \(\d+ rows\)\.$/)
    expect(lines).to.include.members([
      '## Failures by code',
      '| NOT_FOUND | 4 |',
      '| 192.0.2.1 | 5 | NOT_FOUND 4, INSUFFICIENT_SCOPE 1 | 2031-03-01 10:00Z |',
      '| (no source IP) | 2 |   |   |',
      'No lockout in the window.',
      '| 198.51.100.7 | 3 | (removed) | 2031-03-02 12:00Z |',
      '## Audit trail',
    ])
  })

  it('given a bad --since, --until, window or format, then one line and exit 2; an unwritable --out is exit 2 (a path the user gave)', async () => {
    expectOneLineError(await runCli(['report', 'security', '--since', 'yesterday']), 2, /--since/)
    expectOneLineError(await runCli(['report', 'security', '--until', '2031-13-45']), 2, /--until/)
    expectOneLineError(await runCli(['report', 'security', '--since', '2031-03-05', '--until', '2031-03-04']), 2, /not before --until/)
    expectOneLineError(await runCli(['report', 'security', '--since', '500d']), 2, /more than 400/)
    expectOneLineError(await runCli(['report', 'security', '--format', 'pdf']), 2)
    expectJsonError(await runJson(['report', 'security', '--since', 'yesterday']), 2)
    expectOneLineError(await runCli(['report', 'security', '--out', '/nonexistent/dir/s.csv']), 2, /cannot write there/)
  })
})
