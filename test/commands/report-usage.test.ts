import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { expect } from 'chai'

import { expectJsonError, expectOneLineError } from '../helpers/assert.js'
import { runCli, runJson } from '../helpers/cli.js'
import { openTestSql, truncateAll } from '../helpers/db.js'

/** Table cells of the row whose first cell is `first` (the table's │ borders). */
function tableRow(text: string, first: string): string[] | undefined {
  return text
    .split('\n')
    .map((l) => l.split('│').slice(1, -1).map((c) => c.trim()))
    .find((cells) => cells[0] === first)
}

describe('report usage (CLI)', function () {
  this.timeout(60_000)
  const sql = openTestSql()
  let dir: string
  const id = { billing: '', ci: '', idle: '' }
  // A fixed window in the future of every key created here, so the answers never move.
  const WINDOW = ['--since', '3d', '--until', '2031-03-04']

  before(async () => {
    await truncateAll(sql)
    dir = mkdtempSync(join(tmpdir(), 'momentry-usage-'))
    id.billing = (await runJson(['api-key', 'create', '--name', 'billing,"export"', '--type', 'service', '--owner', '=payments'])).json.key.id
    id.ci = (await runJson(['api-key', 'create', '--name', 'ci|deploy', '--type', 'integration'])).json.key.id
    id.idle = (await runJson(['api-key', 'create', '--name', 'idle', '--type', 'user'])).json.key.id
    const rows: [string, string, number, number][] = [
      [id.billing, '2031-02-28T23:59:00Z', 50, 50],
      [id.billing, '2031-03-01T10:00:00Z', 5, 1],
      [id.billing, '2031-03-01T10:01:00Z', 3, 0],
      [id.billing, '2031-03-03T23:59:00Z', 10, 2],
      [id.billing, '2031-03-04T00:00:00Z', 70, 70],
      [id.ci, '2031-03-02T12:00:00Z', 4, 4],
    ]
    for (const [key, minute, ok, fail] of rows) {
      await sql`insert into key_usage_minute (key_id, minute, ok_count, fail_count) values (${key}, ${minute}, ${ok}, ${fail})`
    }
    const failures: [string, string, string, number][] = [
      [id.billing, '2031-03-01T10:00:00Z', 'EXPIRED', 1],
      [id.billing, '2031-03-03T23:59:00Z', 'INSUFFICIENT_SCOPE', 2],
      [id.billing, '2031-03-04T00:00:00Z', 'INSUFFICIENT_SCOPE', 70],
      [id.ci, '2031-03-02T12:00:00Z', 'DISABLED', 4],
    ]
    for (const [key, minute, code, count] of failures) {
      await sql`insert into validation_failure_minute (minute, code, ip, key_id, count) values (${minute}, ${code}, '', ${key}, ${count})`
    }
  })
  after(async () => {
    rmSync(dir, { recursive: true, force: true })
    await truncateAll(sql)
    await sql.end()
  })

  it('given seeded usage, when `report usage --json` runs over a fixed window, then the result is the typed report with exact counts', async () => {
    const r = await runJson(['report', 'usage', ...WINDOW])
    expect(r.code, r.stderr).to.equal(0)
    expect(r.json).to.deep.include({ since: '2031-03-01T00:00:00.000Z', until: '2031-03-04T00:00:00.000Z', days: ['2031-03-01', '2031-03-02', '2031-03-03'] })
    expect(r.json.totals).to.deep.equal({ validations: 29, ok: 22, failed: 7, failedByCode: { DISABLED: 4, EXPIRED: 1, INSUFFICIENT_SCOPE: 2 }, keys: 3, keysUsed: 2, keysNeverUsed: 1 })
    expect(r.json.perDay).to.deep.equal([
      { day: '2031-03-01', ok: 8, failed: 1 },
      { day: '2031-03-02', ok: 4, failed: 4 },
      { day: '2031-03-03', ok: 10, failed: 2 },
    ])
    expect(r.json.keys.map((k: any) => [k.keyId, k.ok, k.failed, k.failedByCode, k.total, k.lastUsedAt, k.daily])).to.deep.equal([
      [id.billing, 18, 3, { EXPIRED: 1, INSUFFICIENT_SCOPE: 2 }, 21, '2031-03-03T23:59:00.000Z', { ok: [8, 0, 10], failed: [1, 0, 2], failedByCode: { EXPIRED: [1, 0, 0], INSUFFICIENT_SCOPE: [0, 0, 2] } }],
      [id.ci, 4, 4, { DISABLED: 4 }, 8, '2031-03-02T12:00:00.000Z', { ok: [0, 4, 0], failed: [0, 4, 0], failedByCode: { DISABLED: [0, 4, 0] } }],
      [id.idle, 0, 0, {}, 0, null, { ok: [0, 0, 0], failed: [0, 0, 0], failedByCode: {} }],
    ])
    expect(r.json.busiest.map((k: any) => [k.keyId, k.total])).to.deep.equal([
      [id.billing, 21],
      [id.ci, 8],
    ])
    expect(r.json.neverUsed).to.have.length(1)
    expect(r.json.neverUsed[0]).to.include({ keyId: id.idle, name: 'idle', type: 'user', status: 'active', lastUsedAt: null })
  })

  it('given --format csv --out FILE, then the file is written whole (no temporary file left) with exact rows and defused cells', async () => {
    const file = join(dir, 'usage.csv')
    writeFileSync(file, 'an older report\n')
    const r = await runCli(['report', 'usage', ...WINDOW, '--format', 'csv', '--out', file])
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.equal('')
    expect(r.stderr).to.match(/Wrote the usage of 3 key\(s\) over 3 day\(s\) to .*usage\.csv \(csv\)/)
    expect(readFileSync(file, 'utf8')).to.equal(
      [
        'day,key id,name,type,owner,status,ok,failed,MALFORMED,NOT_FOUND,DISABLED,REVOKED,EXPIRED,INSUFFICIENT_SCOPE,RATE_LIMITED,BLACKLISTED,last used',
        `2031-03-01,${id.billing},"billing,""export""",service,'=payments,active,8,1,0,0,0,0,1,0,0,0,2031-03-03T23:59:00.000Z`,
        `2031-03-03,${id.billing},"billing,""export""",service,'=payments,active,10,2,0,0,0,0,0,2,0,0,2031-03-03T23:59:00.000Z`,
        `2031-03-02,${id.ci},ci|deploy,integration,,active,4,4,0,0,4,0,0,0,0,0,2031-03-02T12:00:00.000Z`,
        `,${id.idle},idle,user,,active,0,0,0,0,0,0,0,0,0,0,`,
        '',
      ].join('\r\n'),
    )
    expect(readdirSync(dir)).to.deep.equal(['usage.csv'])
  })

  it('given --format md, then stdout is the Markdown report with per-day totals, keys busiest first and the unused keys', async () => {
    const r = await runCli(['report', 'usage', ...WINDOW, '--format', 'md'])
    expect(r.code, r.stderr).to.equal(0)
    const lines = r.stdout.split('\n')
    expect(lines[0]).to.equal('# Usage report (2031-03-01 00:00Z – 2031-03-04 00:00Z)')
    expect(lines[2]).to.equal('29 validations (22 ok, 7 failed: DISABLED 4, INSUFFICIENT_SCOPE 2, EXPIRED 1) over 3 day(s), 2031-03-01 to 2031-03-03; 2 of 3 key(s) used.')
    expect(lines).to.include.members([
      '| 2031-03-01 | 8 | 1 |',
      '| 2031-03-02 | 4 | 4 |',
      '| 2031-03-03 | 10 | 2 |',
      `| ${id.billing} | billing,"export" | =payments | 18 | 3 | INSUFFICIENT_SCOPE 2, EXPIRED 1 | 21 | 2031-03-03 23:59Z | ▆ █ |`,
      `| ${id.ci} | ci\\|deploy |   | 4 | 4 | DISABLED 4 | 8 | 2031-03-02 12:00Z |  █  |`,
    ])
    expect(lines.find((l) => l.startsWith(`| ${id.idle} `))).to.match(/^\| key_\S+ \| idle \| user \| {3}\| active \| \d{4}-\d\d-\d\d \d\d:\d\dZ \| — \|$/)
  })

  it('given the default table format, then each used key has its counts and a sparkline column, and the unused key is listed', async () => {
    const r = await runCli(['report', 'usage', ...WINDOW])
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout.split('\n')[0]).to.equal(
      'Usage 2031-03-01 00:00Z – 2031-03-04 00:00Z: 29 validations (22 ok, 7 failed: DISABLED 4, INSUFFICIENT_SCOPE 2, EXPIRED 1) over 3 day(s), 2031-03-01 to 2031-03-03; 2 of 3 key(s) used.',
    )
    expect(tableRow(r.stdout, 'key')).to.deep.equal(['key', 'name', 'owner', 'ok', 'failed', 'failed by code', 'total', 'last used', 'per day (2031-03-01 → 2031-03-03)'])
    expect(tableRow(r.stdout, id.billing)).to.deep.equal([id.billing, 'billing,"export"', '=payments', '18', '3', 'INSUFFICIENT_SCOPE 2, EXPIRED 1', '21', '2031-03-03 23:59Z', '▆ █'])
    expect(tableRow(r.stdout, id.ci)).to.deep.equal([id.ci, 'ci|deploy', '—', '4', '4', 'DISABLED 4', '8', '2031-03-02 12:00Z', '█'])
    expect(tableRow(r.stdout, 'all keys')).to.deep.equal(['all keys', '', '', '22', '7', 'DISABLED 4, INSUFFICIENT_SCOPE 2, EXPIRED 1', '29', '', '▆▆█'])
    expect(r.stdout).to.include('Never used in the window: 1 key(s).')
    expect(tableRow(r.stdout, id.idle)?.slice(0, 5)).to.deep.equal([id.idle, 'idle', 'user', '—', 'active'])
  })

  it('given a bad --since, --until, window or format, then one line and exit 2; an unwritable --out is exit 8 and leaves no temporary file', async () => {
    expectOneLineError(await runCli(['report', 'usage', '--since', 'yesterday']), 2, /--since/)
    expectOneLineError(await runCli(['report', 'usage', '--until', '2031-13-45']), 2, /--until/)
    expectOneLineError(await runCli(['report', 'usage', '--since', '2031-03-05', '--until', '2031-03-04']), 2, /not before --until/)
    expectOneLineError(await runCli(['report', 'usage', '--since', '500d']), 2, /more than 400/)
    expectOneLineError(await runCli(['report', 'usage', '--format', 'xml']), 2)
    expectJsonError(await runJson(['report', 'usage', '--since', 'yesterday']), 2)
    expectOneLineError(await runCli(['report', 'usage', '--out', '/nonexistent/dir/u.csv']), 2, /--out \/nonexistent\/dir\/u\.csv: cannot write there \(ENOENT\)/)
    // A directory in the way of the rename: the temporary file beside it is removed.
    expectOneLineError(await runCli(['report', 'usage', '--out', dir]), 2, /cannot write there \(EISDIR\)/)
    expect(readdirSync(join(dir, '..')).filter((f) => f.startsWith(`.${dir.split('/').pop()}.`))).to.deep.equal([])
  })
})
