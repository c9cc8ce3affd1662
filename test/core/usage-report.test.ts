import { expect } from 'chai'

import { revokeKey } from '../../src/core/api-keys/change-key-state.js'
import { createKey } from '../../src/core/api-keys/create-key.js'
import { fixedClock } from '../../src/core/clock.js'
import type { CoreContext } from '../../src/core/context.js'
import type { Sql } from '../../src/core/db/connect.js'
import { MomentryError, UsageError } from '../../src/core/errors.js'
import type { UsageReport } from '../../src/core/reports/usage-report.js'
import { buildUsageReport } from '../../src/core/reports/usage-report.js'
import { renderUsageReport, sparkline } from '../../src/ui/usage-report.js'
import { openTestSql, testContext, truncateAll } from '../helpers/db.js'

const PURGED = 'key_PurgedPurged0000'
const SINCE = new Date('2031-03-01T00:00:00Z')
const UNTIL = new Date('2031-03-04T00:00:00Z')

/** Table cells of the row whose first cell is `first` (the table's │ borders). */
function tableRow(text: string, first: string): string[] | undefined {
  return text
    .split('\n')
    .map((l) => l.split('│').slice(1, -1).map((c) => c.trim()))
    .find((cells) => cells[0] === first)
}

describe('report usage (core)', () => {
  let sql: Sql
  let ctx: CoreContext
  let clock: ReturnType<typeof fixedClock>
  const id: Record<'billing' | 'ci' | 'idle' | 'fresh' | 'gone', string> = { billing: '', ci: '', idle: '', fresh: '', gone: '' }

  before(async () => {
    sql = openTestSql()
    await truncateAll(sql)
    clock = fixedClock('2031-02-01T09:00:00Z')
    ctx = testContext(sql, { clock })
    id.billing = (await createKey(ctx, { name: 'billing,"export"', type: 'service', owner: '=payments' })).key.id
    id.ci = (await createKey(ctx, { name: 'ci|deploy', type: 'integration', owner: 'platform' })).key.id
    id.idle = (await createKey(ctx, { name: 'idle', type: 'user', owner: 'alice' })).key.id
    id.fresh = (await createKey(ctx, { name: 'fresh', type: 'user' })).key.id
    id.gone = (await createKey(ctx, { name: 'gone', type: 'user' })).key.id
    clock.set('2031-02-15T00:00:00Z')
    await revokeKey(ctx, { id: id.gone })
    const rows: [string, string, number, number][] = [
      [id.billing, '2031-02-28T23:59:00Z', 50, 50], // before the window
      [id.billing, '2031-03-01T10:00:00Z', 5, 1],
      [id.billing, '2031-03-01T10:01:00Z', 3, 0],
      [id.billing, '2031-03-03T23:59:00Z', 10, 2],
      [id.billing, '2031-03-04T00:00:00Z', 70, 70], // at --until: after the window
      [id.ci, '2031-02-20T08:00:00Z', 1, 0],
      [id.ci, '2031-03-02T12:00:00Z', 4, 4],
      [id.idle, '2031-02-25T10:00:00Z', 2, 0],
      [PURGED, '2031-03-02T00:30:00Z', 0, 3],
    ]
    for (const [key, minute, ok, fail] of rows) {
      await sql`insert into key_usage_minute (key_id, minute, ok_count, fail_count) values (${key}, ${minute}, ${ok}, ${fail})`
    }
    // Refusals by code: ci's fourth failure was reported by a service (no code); NOT_FOUND names no key.
    const failures: [string, string, string, number][] = [
      [id.billing, '2031-02-28T23:59:00Z', 'INSUFFICIENT_SCOPE', 50],
      [id.billing, '2031-03-01T10:00:00Z', 'INSUFFICIENT_SCOPE', 1],
      [id.billing, '2031-03-03T23:59:00Z', 'INSUFFICIENT_SCOPE', 1],
      [id.billing, '2031-03-03T23:59:00Z', 'RATE_LIMITED', 1],
      [id.billing, '2031-03-04T00:00:00Z', 'INSUFFICIENT_SCOPE', 70],
      [id.ci, '2031-03-02T12:00:00Z', 'INSUFFICIENT_SCOPE', 3],
      [PURGED, '2031-03-02T00:30:00Z', 'REVOKED', 3],
      ['', '2031-03-02T00:30:00Z', 'NOT_FOUND', 9],
    ]
    for (const [key, minute, code, count] of failures) {
      await sql`insert into validation_failure_minute (minute, code, ip, key_id, count) values (${minute}, ${code}, '192.0.2.1', ${key}, ${count})`
    }
    clock.set('2031-03-10T12:00:00Z')
  })

  after(async () => {
    await truncateAll(sql)
    await sql.end()
  })

  const report = () => buildUsageReport(ctx, { since: SINCE, until: UNTIL })

  it('given seeded per-minute usage, when the report is built, then it has the exact counts per key per UTC day, busiest first', async () => {
    const r = await report()
    const [first, second] = [id.idle, id.fresh].sort()
    const created = '2031-02-01T09:00:00.000Z'
    const expected: UsageReport = {
      generatedAt: '2031-03-10T12:00:00.000Z',
      since: '2031-03-01T00:00:00.000Z',
      until: '2031-03-04T00:00:00.000Z',
      days: ['2031-03-01', '2031-03-02', '2031-03-03'],
      totals: { validations: 32, ok: 22, failed: 10, failedByCode: { REVOKED: 3, INSUFFICIENT_SCOPE: 5, RATE_LIMITED: 1 }, keys: 5, keysUsed: 3, keysNeverUsed: 2 },
      perDay: [
        { day: '2031-03-01', ok: 8, failed: 1 },
        { day: '2031-03-02', ok: 4, failed: 7 },
        { day: '2031-03-03', ok: 10, failed: 2 },
      ],
      keys: [
        {
          keyId: id.billing,
          name: 'billing,"export"',
          type: 'service',
          owner: '=payments',
          status: 'active',
          createdAt: created,
          expiresAt: null,
          ok: 18,
          failed: 3,
          failedByCode: { INSUFFICIENT_SCOPE: 2, RATE_LIMITED: 1 },
          total: 21,
          lastUsedAt: '2031-03-03T23:59:00.000Z',
          daily: { ok: [8, 0, 10], failed: [1, 0, 2], failedByCode: { INSUFFICIENT_SCOPE: [1, 0, 1], RATE_LIMITED: [0, 0, 1] } },
        },
        {
          keyId: id.ci,
          name: 'ci|deploy',
          type: 'integration',
          owner: 'platform',
          status: 'active',
          createdAt: created,
          expiresAt: null,
          ok: 4,
          failed: 4,
          failedByCode: { INSUFFICIENT_SCOPE: 3 },
          total: 8,
          lastUsedAt: '2031-03-02T12:00:00.000Z',
          daily: { ok: [0, 4, 0], failed: [0, 4, 0], failedByCode: { INSUFFICIENT_SCOPE: [0, 3, 0] } },
        },
        { keyId: PURGED, name: null, type: null, owner: null, status: null, createdAt: null, expiresAt: null, ok: 0, failed: 3, failedByCode: { REVOKED: 3 }, total: 3, lastUsedAt: '2031-03-02T00:30:00.000Z', daily: { ok: [0, 0, 0], failed: [0, 3, 0], failedByCode: { REVOKED: [0, 3, 0] } } },
        ...[first, second].map((k) => ({
          keyId: k!,
          name: k === id.idle ? 'idle' : 'fresh',
          type: 'user',
          owner: k === id.idle ? 'alice' : null,
          status: 'active',
          createdAt: created,
          expiresAt: null,
          ok: 0,
          failed: 0,
          failedByCode: {},
          total: 0,
          lastUsedAt: k === id.idle ? '2031-02-25T10:00:00.000Z' : null,
          daily: { ok: [0, 0, 0], failed: [0, 0, 0], failedByCode: {} },
        })),
      ],
      busiest: [
        { keyId: id.billing, name: 'billing,"export"', ok: 18, failed: 3, total: 21 },
        { keyId: id.ci, name: 'ci|deploy', ok: 4, failed: 4, total: 8 },
        { keyId: PURGED, name: null, ok: 0, failed: 3, total: 3 },
      ],
      neverUsed: [first, second].map((k) => ({
        keyId: k!,
        name: k === id.idle ? 'idle' : 'fresh',
        type: 'user',
        owner: k === id.idle ? 'alice' : null,
        status: 'active',
        createdAt: created,
        lastUsedAt: k === id.idle ? '2031-02-25T10:00:00.000Z' : null,
      })),
    }
    expect(r).to.deep.equal(expected)
    expect(JSON.parse(renderUsageReport(r, 'json'))).to.deep.equal(expected)
  })

  it('given the same report, when rendered as CSV, then it is one row per key per day with use plus one per unused key, formula-like cells defused', async () => {
    const r = await report()
    const [first, second] = [id.idle, id.fresh].sort()
    const none = '0,0,0,0,0,0,0,0'
    const unused = (k: string) => (k === id.idle ? `,${k},idle,user,alice,active,0,0,${none},2031-02-25T10:00:00.000Z` : `,${k},fresh,user,,active,0,0,${none},`)
    expect(renderUsageReport(r, 'csv')).to.equal(
      [
        'day,key id,name,type,owner,status,ok,failed,MALFORMED,NOT_FOUND,DISABLED,REVOKED,EXPIRED,INSUFFICIENT_SCOPE,RATE_LIMITED,BLACKLISTED,last used',
        `2031-03-01,${id.billing},"billing,""export""",service,'=payments,active,8,1,0,0,0,0,0,1,0,0,2031-03-03T23:59:00.000Z`,
        `2031-03-03,${id.billing},"billing,""export""",service,'=payments,active,10,2,0,0,0,0,0,1,1,0,2031-03-03T23:59:00.000Z`,
        `2031-03-02,${id.ci},ci|deploy,integration,platform,active,4,4,0,0,0,0,0,3,0,0,2031-03-02T12:00:00.000Z`,
        `2031-03-02,${PURGED},,,,,0,3,0,0,0,3,0,0,0,0,2031-03-02T00:30:00.000Z`,
        unused(first!),
        unused(second!),
        '',
      ].join('\r\n'),
    )
  })

  it('given the same report, when rendered as Markdown, then the sections hold the exact counts, pipes escaped', async () => {
    const r = await report()
    const [first, second] = [id.idle, id.fresh].sort()
    const never = (k: string) => (k === id.idle ? `| ${k} | idle | user | alice | active | 2031-02-01 09:00Z | 2031-02-25 10:00Z |` : `| ${k} | fresh | user |   | active | 2031-02-01 09:00Z | — |`)
    expect(renderUsageReport(r, 'md')).to.equal(
      [
        '# Usage report (2031-03-01 00:00Z – 2031-03-04 00:00Z)',
        '',
        '32 validations (22 ok, 10 failed: INSUFFICIENT_SCOPE 5, REVOKED 3, RATE_LIMITED 1) over 3 day(s), 2031-03-01 to 2031-03-03; 3 of 5 key(s) used.',
        '',
        '## Validations per day',
        '',
        '| day | ok | failed |',
        '| --- | --- | --- |',
        '| 2031-03-01 | 8 | 1 |',
        '| 2031-03-02 | 4 | 7 |',
        '| 2031-03-03 | 10 | 2 |',
        '',
        '## Keys by use (busiest first)',
        '',
        '| key | name | owner | ok | failed | failed by code | total | last used | per day |',
        '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
        `| ${id.billing} | billing,"export" | =payments | 18 | 3 | INSUFFICIENT_SCOPE 2, RATE_LIMITED 1 | 21 | 2031-03-03 23:59Z | ▆ █ |`,
        `| ${id.ci} | ci\\|deploy | platform | 4 | 4 | INSUFFICIENT_SCOPE 3 | 8 | 2031-03-02 12:00Z |  █  |`,
        `| ${PURGED} | (purged) |   | 0 | 3 | REVOKED 3 | 3 | 2031-03-02 00:30Z |  █  |`,
        '',
        '## Never used in the window',
        '',
        '| key | name | type | owner | status | created | last used |',
        '| --- | --- | --- | --- | --- | --- | --- |',
        never(first!),
        never(second!),
        '',
      ].join('\n'),
    )
  })

  it('given the same report, when rendered as a table, then each used key has its counts and a sparkline of its days, and the unused keys follow', async () => {
    const text = renderUsageReport(await report(), 'table')
    expect(text.split('\n')[0]).to.equal(
      'Usage 2031-03-01 00:00Z – 2031-03-04 00:00Z: 32 validations (22 ok, 10 failed: INSUFFICIENT_SCOPE 5, REVOKED 3, RATE_LIMITED 1) over 3 day(s), 2031-03-01 to 2031-03-03; 3 of 5 key(s) used.',
    )
    expect(tableRow(text, id.billing)).to.deep.equal([id.billing, 'billing,"export"', '=payments', '18', '3', 'INSUFFICIENT_SCOPE 2, RATE_LIMITED 1', '21', '2031-03-03 23:59Z', '▆ █'])
    expect(tableRow(text, id.ci)).to.deep.equal([id.ci, 'ci|deploy', 'platform', '4', '4', 'INSUFFICIENT_SCOPE 3', '8', '2031-03-02 12:00Z', '█'])
    expect(tableRow(text, PURGED)).to.deep.equal([PURGED, '(purged)', '—', '0', '3', 'REVOKED 3', '3', '2031-03-02 00:30Z', '█'])
    expect(tableRow(text, 'all keys')).to.deep.equal(['all keys', '', '', '22', '10', 'INSUFFICIENT_SCOPE 5, REVOKED 3, RATE_LIMITED 1', '32', '', '▆██'])
    expect(text).to.include('Never used in the window: 2 key(s).')
    expect(tableRow(text, id.idle)).to.deep.equal([id.idle, 'idle', 'user', 'alice', 'active', '2031-02-01 09:00Z', '2031-02-25 10:00Z'])
    expect(tableRow(text, id.fresh)).to.deep.equal([id.fresh, 'fresh', 'user', '—', 'active', '2031-02-01 09:00Z', '—'])
    expect(text).not.to.include(id.gone)
  })

  it('given a window that ends at a time of day, when built, then the days run from the first to the last UTC day it touches', async () => {
    const r = await buildUsageReport(ctx, { since: new Date('2031-03-01T10:01:00Z'), until: new Date('2031-03-02T12:00:00Z') })
    expect(r.days).to.deep.equal(['2031-03-01', '2031-03-02'])
    expect(r.perDay).to.deep.equal([
      { day: '2031-03-01', ok: 3, failed: 0 },
      { day: '2031-03-02', ok: 0, failed: 3 },
    ])
  })

  it('given a start not before the end, or a window over 400 days, when built, then it is a UsageError (exit 2)', async () => {
    for (const [since, until] of [
      [UNTIL, UNTIL],
      [UNTIL, SINCE],
      [new Date('2029-01-01T00:00:00Z'), UNTIL],
    ] as const) {
      const error = await buildUsageReport(ctx, { since, until }).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).to.be.instanceOf(UsageError)
      expect((error as MomentryError).exitCode).to.equal(2)
    }
  })

  it('given values, when drawn as a sparkline, then zero is a space, the largest a full block and any use at least the lowest bar', () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7, 8])).to.equal(' ▁▂▃▄▅▆▇█')
    expect(sparkline([1, 1000])).to.equal('▁█')
    expect(sparkline([0, 0])).to.equal('  ')
    expect(sparkline([])).to.equal('')
  })
})
