import { expect } from 'chai'
import fc from 'fast-check'

import type { Sql } from '../../src/core/db/connect.js'
import { usageByKeyAndDay } from '../../src/core/reports/usage-repo.js'
import { openTestSql, truncateAll } from '../helpers/db.js'

const BASE = Date.parse('2031-05-01T00:00:00Z')
const MIN = 60_000
const DAY = 86_400_000

/** The daily table as it is, and as the per-minute table says it should be. */
async function dailyVsMinutes(sql: Sql) {
  const daily = await sql`select key_id, day::text, ok_count::int as ok, fail_count::int as fail, last_minute from key_usage_day order by 1, 2`
  const expected = await sql`
    select key_id, (minute at time zone 'UTC')::date::text as day, sum(ok_count)::int as ok, sum(fail_count)::int as fail, max(minute) as last_minute
    from key_usage_minute group by 1, 2 order by 1, 2`
  return { daily: [...daily], expected: [...expected] }
}

const upsert = (sql: Sql, rows: { key: string; minute: number; ok: number; fail: number }[]) => sql`
  insert into key_usage_minute (key_id, minute, ok_count, fail_count)
  select * from unnest(${rows.map((r) => r.key)}::text[], ${rows.map((r) => new Date(BASE + r.minute * MIN).toISOString())}::timestamptz[],
                       ${rows.map((r) => r.ok)}::int[], ${rows.map((r) => r.fail)}::int[])
  on conflict (key_id, minute) do update
    set ok_count = key_usage_minute.ok_count + excluded.ok_count, fail_count = key_usage_minute.fail_count + excluded.fail_count`

describe('key_usage_day (the daily rollup of sql/0011)', () => {
  let sql: Sql
  before(() => (sql = openTestSql()))
  beforeEach(() => truncateAll(sql))
  after(() => sql.end())

  it('stays equal to the minutes summed by day through inserts, upserts, purges and a truncate', async () => {
    await upsert(sql, [
      { key: 'key_a', minute: 0, ok: 3, fail: 1 },
      { key: 'key_a', minute: 1439, ok: 2, fail: 0 },
      { key: 'key_a', minute: 1440, ok: 5, fail: 5 },
      { key: 'key_b', minute: 10, ok: 1, fail: 0 },
    ])
    await upsert(sql, [
      { key: 'key_a', minute: 0, ok: 4, fail: 0 },
      { key: 'key_b', minute: 11, ok: 0, fail: 2 },
    ])
    let state = await dailyVsMinutes(sql)
    expect(state.daily).to.deep.equal(state.expected)
    expect(state.daily.map((r) => [r.key_id, r.day, r.ok, r.fail])).to.deep.equal([
      ['key_a', '2031-05-01', 9, 1],
      ['key_a', '2031-05-02', 5, 5],
      ['key_b', '2031-05-01', 1, 2],
    ])
    // Cleanup purges the oldest minutes: a day partly left is recounted, a day emptied is gone.
    await sql`delete from key_usage_minute where minute < ${new Date(BASE + 1439 * MIN)}`
    state = await dailyVsMinutes(sql)
    expect(state.daily).to.deep.equal(state.expected)
    expect(state.daily.map((r) => [r.key_id, r.day, r.ok])).to.deep.equal([
      ['key_a', '2031-05-01', 2],
      ['key_a', '2031-05-02', 5],
    ])
    await sql`truncate key_usage_minute`
    expect((await dailyVsMinutes(sql)).daily).to.deep.equal([])
  })

  it('gives any window the same per-key, per-day sums as the minutes themselves', async () => {
    // Three days of scattered minutes for three keys, then windows on and off midnight.
    const rows = Array.from({ length: 300 }, (_, i) => ({ key: `key_${i % 3}`, minute: (i * 53) % (3 * 1440), ok: 1 + (i % 4), fail: i % 5 === 0 ? 1 : 0 }))
    await upsert(sql, rows)
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 3 * 1440 - 1 }), fc.integer({ min: 1, max: 3 * 1440 }), async (start, length) => {
        const from = new Date(BASE + start * MIN)
        const until = new Date(BASE + Math.min(3 * 1440, start + length) * MIN)
        if (from >= until) return
        const firstDay = from.toISOString().slice(0, 10)
        const got = await usageByKeyAndDay(sql, from, until, firstDay)
        const want = new Map<string, Map<number, [number, number]>>()
        for (const r of rows) {
          const t = BASE + r.minute * MIN
          if (t < from.getTime() || t >= until.getTime()) continue
          const d = Math.floor((t - Date.parse(firstDay)) / DAY)
          const perKey = want.get(r.key) ?? want.set(r.key, new Map()).get(r.key)!
          const cur = perKey.get(d) ?? [0, 0]
          perKey.set(d, [cur[0] + r.ok, cur[1] + r.fail])
        }
        expect(got.map((g) => g.keyId).sort()).to.deep.equal([...want.keys()].sort())
        for (const g of got) {
          const perKey = want.get(g.keyId)!
          expect(g.days).to.deep.equal([...perKey.keys()].sort((a, b) => a - b))
          expect(g.days.map((_, i) => [g.ok[i], g.failed[i]])).to.deep.equal(g.days.map((d) => perKey.get(d)))
        }
      }),
      { numRuns: 60 },
    )
  })
})
