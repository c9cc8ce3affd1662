// Revocation propagation across two `serve` instances: a key revoked through instance A is
// refused by instance B within p99 ≤ 50 ms over 100 revocations, with Redis configured and
// with PostgreSQL NOTIFY alone (SPEC §14). Time runs from A's answer to the revoke (the change
// has committed) to B's first refusal.
import { median, pct, post, spawnServe } from '../lib.js'

export const name = 'revocation'

async function measure(b, extraEnv, trials, label) {
  const admin = (await b.lib.createKey(b.setup, { name: `bench-admin-${label}`, type: 'system', scopes: ['admin'] })).secret
  const [a, c] = await Promise.all([spawnServe(extraEnv, b.bin), spawnServe(extraEnv, b.bin)])
  const times = []
  try {
    for (let trial = 0; trial < trials; trial++) {
      const { secret, key } = await b.lib.createKey(b.setup, { name: `victim-${label}-${trial}`, type: 'service' })
      // A fresh source IP per trial: each refusal below counts as a failed attempt for its IP.
      const ip = `198.51.${label === 'redis' ? 100 : 101}.${(trial % 250) + 1}`
      for (const s of [a, c]) {
        const r = await post(s.url, { key: secret, ip })
        if (!r.valid) throw new Error(`victim not valid on ${s.url}: ${JSON.stringify(r)}`)
      }
      const res = await fetch(`${a.url}/v1/admin/api-keys/${key.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } })
      if (res.status !== 200) throw new Error(`revoke answered ${res.status}`)
      const t = performance.now()
      while (performance.now() - t < 2000 && (await post(c.url, { key: secret, ip })).valid) {}
      times.push(performance.now() - t)
    }
  } finally {
    await Promise.all([a.stop(), c.stop()])
  }
  b.record(
    `revocation propagation (${label === 'redis' ? 'with Redis' : 'PostgreSQL NOTIFY alone'})`,
    pct(times, 99).toFixed(1),
    `ms p99 of ${times.length} (median ${median(times).toFixed(1)}, worst ${Math.max(...times).toFixed(1)})`,
    'revoke answered by instance A',
    'start',
    pct(times, 99) <= 50,
    '≤ 50 ms',
  )
}

export async function run(b) {
  const trials = b.quick ? 20 : 100
  b.say(`revocation propagation across two serve instances (${trials} revocations, with Redis)…`)
  await measure(b, {}, trials, 'redis')
  // A baseline from before invalidation over NOTIFY has no cross-process invalidation without Redis.
  if (b.baseline) return
  b.say(`revocation propagation across two serve instances (${trials} revocations, no Redis)…`)
  await measure(b, { REDIS_URL: '' }, trials, 'notify')
}
