// `api-key list --limit 50` at 1M keys: the core call (≤ 10 ms), and the whole CLI run vs the
// same command on an empty database (≤ 1.5×) (SPEC §14).
import { median, runOnce } from '../lib.js'

export const name = 'list'

export async function run(b) {
  await b.fill()
  const ctx = b.newCore().ctx
  const lat = []
  let cursor
  for (let i = 0; i < 20; i++) {
    const t = performance.now()
    const page = await b.lib.listKeys(ctx, { limit: 50, cursor })
    lat.push(performance.now() - t)
    cursor = page.nextCursor ?? undefined
  }
  const emptyEnv = { DATABASE_URL: await b.emptyDatabase() }
  const full = []
  const empty = []
  for (let i = 0; i < (b.quick ? 5 : 9); i++) {
    full.push((await runOnce([process.execPath, b.bin, 'api-key', 'list', '--limit', '50', '--json'])).ms)
    empty.push((await runOnce([process.execPath, b.bin, 'api-key', 'list', '--limit', '50', '--json'], '', emptyEnv)).ms)
  }
  const ratio = median(full) / median(empty)
  b.record(
    'api-key list --limit 50',
    `${median(lat).toFixed(2)} ms core, ${median(full).toFixed(0)} ms whole CLI run`,
    `at ${b.total.toLocaleString()} keys`,
    `${median(empty).toFixed(0)} ms`,
    'the same CLI run on an empty database',
    median(lat) <= 10 && ratio <= 1.5,
    `core ≤ 10 ms; CLI ≤ 1.5× the empty one (got ${ratio.toFixed(2)}×)`,
  )
}
