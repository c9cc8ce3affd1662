// Embedded mode start (SPEC §14): the first `api-key create` on a fresh data directory
// (≤ 6 s), and the first command after `db stop` (≤ the same command in servers mode + 400 ms).
import { median, runOnce } from '../lib.js'

export const name = 'embedded'
/** A checkout from before embedded mode has nothing to measure here. */
export const baseline = false

export async function run(b) {
  b.say('embedded mode: first command on a fresh data directory…')
  const rounds = b.quick ? 2 : 3
  const fresh = []
  for (let i = 0; i < rounds; i++) {
    const e = await b.embedded({ fresh: true })
    const r = await runOnce([process.execPath, b.bin, 'api-key', 'create', '--name', 'first', '--type', 'service'], '', e.env)
    if (r.code !== 0) throw new Error(`first create exited ${r.code}: ${r.stderr}`)
    fresh.push(r.ms)
    await e.remove()
  }
  b.record('embedded: first command, fresh data directory', `${median(fresh).toFixed(0)}`, `ms (median of ${rounds}: ${fresh.map((t) => t.toFixed(0)).join(', ')})`, '6,000 ms', 'bar', median(fresh) <= 6000, '≤ 6 s')

  b.say('embedded mode: first command with the server stopped, vs servers mode…')
  const e = await b.embedded()
  const n = b.quick ? 5 : 11
  const stopped = []
  const servers = []
  for (let i = 0; i < n; i++) {
    await runOnce([process.execPath, b.bin, 'db', 'stop'], '', e.env)
    stopped.push((await runOnce([process.execPath, b.bin, 'api-key', 'list', '--limit', '1', '--json'], '', e.env)).ms)
    servers.push((await runOnce([process.execPath, b.bin, 'api-key', 'list', '--limit', '1', '--json'])).ms)
  }
  const extra = median(stopped) - median(servers)
  b.record('embedded: first command, server stopped', `${median(stopped).toFixed(0)}`, `ms (median of ${n}; +${extra.toFixed(0)} ms)`, `${median(servers).toFixed(0)} ms`, 'servers mode', extra <= 400, '≤ servers mode + 400 ms')
}
