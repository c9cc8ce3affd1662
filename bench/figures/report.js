// `report usage --format html` over 10k keys × 30 days of usage: the whole CLI run ≤ 3 s and the
// file ≤ 2 MB (SPEC §14). Beside it, the same report as JSON in the same run (the data without
// the page), so a slow page and a slow query can be told apart.
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { median, runOnce } from '../lib.js'

export const name = 'report'

const KEYS = 10_000
const DAYS = 30
/** Minutes with use per key per day: one every three hours. */
const PER_DAY = 8

export async function run(b) {
  const url = await b.reportDatabase(async (sql) => {
    // Keys of every type and state, created over the past year; a tenth expire within 90 days.
    await sql`
      insert into api_keys (key_id, key_hash, key_stub, name, key_type, owner, created_at, created_by, expires_at, rotate_every_seconds)
      select 'key_' || lpad(g::text, 16, '0'), decode(md5(g::text) || md5(g::text || 'r'), 'hex'), 'mtry_svc_rep',
             'report-key-' || g, (array['service', 'integration', 'user', 'system', 'emergency'])[1 + g % 5],
             case when g % 7 = 0 then null else 'team-' || (g % 40) end,
             date_trunc('day', now()) - ((g % 365) || ' days')::interval, 'bench',
             case when g % 10 = 0 then now() + ((g % 90) || ' days')::interval end,
             case when g % 3 = 0 then 90 * 86400 end
      from generate_series(1, ${KEYS}) g`
    // PER_DAY minutes a day per key, the last DAYS days; one failure in eight minutes.
    await sql`
      insert into key_usage_minute (key_id, minute, ok_count, fail_count)
      select 'key_' || lpad(k::text, 16, '0'), date_trunc('day', now()) - (d || ' days')::interval + (m * 180 || ' minutes')::interval,
             1 + (k * 7 + d * 3 + m) % 40, case when (k + d + m) % 8 = 0 then 1 + k % 3 else 0 end
      from generate_series(1, ${KEYS}) k, generate_series(1, ${DAYS}) d, generate_series(0, ${PER_DAY - 1}) m`
  })
  const dir = await mkdtemp(join(tmpdir(), 'mtry-bench-report-'))
  try {
    const until = new Date(new Date().toISOString().slice(0, 10)).toISOString()
    const run = async (format) => {
      const file = join(dir, `usage.${format}`)
      const r = await runOnce([process.execPath, b.bin, 'report', 'usage', '--since', `${DAYS}d`, '--until', until, '--format', format, '--out', file], '', { DATABASE_URL: url })
      if (r.code !== 0) throw new Error(`report usage --format ${format} exited ${r.code}: ${r.stderr.trim().split('\n').pop()}`)
      return { ms: r.ms, bytes: (await stat(file)).size }
    }
    await run('html') // warm PostgreSQL's buffers for both
    const html = []
    const json = []
    for (let i = 0; i < (b.quick ? 3 : 5); i++) {
      html.push(await run('html'))
      json.push(await run('json'))
    }
    const ms = median(html.map((r) => r.ms))
    const mb = html[0].bytes / 1e6
    b.record(
      'report usage --format html',
      `${ms.toFixed(0)} ms, ${mb.toFixed(2)} MB`,
      `whole CLI run, ${KEYS.toLocaleString()} keys × ${DAYS} days (${(KEYS * DAYS * PER_DAY).toLocaleString()} usage minutes)`,
      `${median(json.map((r) => r.ms)).toFixed(0)} ms, ${(json[0].bytes / 1e6).toFixed(2)} MB`,
      'the same report as --format json',
      ms <= 3000 && mb <= 2,
      '≤ 3 s and ≤ 2 MB',
    )
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
