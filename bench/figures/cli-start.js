// CLI start: `momentry api-key validate` with the key on stdin, in servers mode vs `node -e 0`
// (≤ 3.5×), and in embedded mode with its server running vs servers mode (≤ 1.2×); the three
// take turns (SPEC §14).
import { median, runOnce } from '../lib.js'

export const name = 'cli-start'

export async function run(b) {
  b.say('CLI start…')
  const n = b.quick ? 7 : 21
  // A baseline from before embedded mode times servers mode only.
  const embedded = b.baseline ? undefined : await b.embedded()
  const key = b.keys[1]
  const embeddedKey = await embedded?.key()
  const servers = []
  const emb = []
  const node0 = []
  for (let i = 0; i < n; i++) {
    const s = await runOnce([process.execPath, b.bin, 'api-key', 'validate'], `${key}\n`)
    if (s.code !== 0) throw new Error(`validate exited ${s.code}: ${s.stderr}`)
    servers.push(s.ms)
    if (embedded) {
      const e = await runOnce([process.execPath, b.bin, 'api-key', 'validate'], `${embeddedKey}\n`, embedded.env)
      if (e.code !== 0) throw new Error(`embedded validate exited ${e.code}: ${e.stderr}`)
      emb.push(e.ms)
    }
    node0.push((await runOnce([process.execPath, '-e', '0'])).ms)
  }
  const ratio = median(servers) / median(node0)
  b.record('CLI start: api-key validate (servers)', `${median(servers).toFixed(0)}`, `ms (median of ${n})`, `${median(node0).toFixed(0)} ms`, 'node -e 0', ratio <= 3.5, `≤ 3.5× (got ${ratio.toFixed(2)}×)`)
  if (!embedded) return
  const eRatio = median(emb) / median(servers)
  b.record('CLI start: api-key validate (embedded, running)', `${median(emb).toFixed(0)}`, `ms (median of ${n})`, `${median(servers).toFixed(0)} ms`, 'servers mode', eRatio <= 1.2, `≤ 1.2× (got ${eRatio.toFixed(2)}×)`)
}
