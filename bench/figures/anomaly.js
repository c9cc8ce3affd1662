// Anomaly detection at 5,000 validations/s of one key through `serve`: the alert is on the
// Redis channel ≤ 1 s after the per-minute threshold is crossed, and validation p99.9 ≤ 2 ms
// meanwhile, read from serve's own histogram (SPEC §14).
import autocannon from 'autocannon'

import { prefix, sleep, spawnServe } from '../lib.js'

export const name = 'anomaly'

export async function run(b) {
  b.say('anomaly alert latency at 5,000 validations/s…')
  const threshold = 10_000
  const key = (await b.lib.createKey(b.setup, { name: 'bench-hot', type: 'service' })).secret
  const serve = await spawnServe({ ANOMALY_MAX_REQUESTS_PER_MINUTE: String(threshold), ANOMALY_QUIET_HOURS: '00-00' }, b.bin)
  const sub = b.redis.duplicate()
  await sub.connect()
  try {
    let alertAt = 0
    await sub.subscribe(`${prefix}anomaly:alerts`, (m) => {
      if (!alertAt && JSON.parse(m).type === 'high_request_rate') alertAt = performance.now()
    })
    // Warm: the key's first validation is a cache miss on a fresh connection pool (TCP,
    // authentication, statement preparation), which the cache-miss bar covers, not this one.
    const warm = JSON.stringify({ key, ip: '192.0.2.50' })
    await Promise.all(Array.from({ length: 20 }, () => fetch(`${serve.url}/v1/keys/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: warm })))
    const LES = ['0.002', '0.0025', '0.005', '0.01', '0.025', '0.1', '+Inf']
    const histogram = async () => {
      const text = await (await fetch(`${serve.url}/metrics`)).text()
      const count = (le) => Number(new RegExp(`^momentry_validation_duration_seconds_bucket\\{le="${le.replace(/[+.]/g, '\\$&')}",outcome="valid"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0)
      return Object.fromEntries(LES.map((le) => [le, count(le)]))
    }
    const before = await histogram()
    const warmMinute = Math.floor(Date.now() / 60_000)
    // Start at the top of a fresh minute so the whole run counts in one per-minute bucket.
    const msIntoMinute = Date.now() % 60_000
    if (msIntoMinute > 30_000) await sleep(60_000 - msIntoMinute + 200)
    // The warm-up's validations count towards the minute they fell in.
    let responses = Math.floor(Date.now() / 60_000) === warmMinute ? 20 : 0
    let crossedAt = 0
    const run = autocannon({
      url: `${serve.url}/v1/keys/verify`,
      method: 'POST',
      connections: 20,
      overallRate: 5000,
      duration: b.quick ? 4 : 6,
      headers: { 'content-type': 'application/json' },
      body: warm,
    })
    run.on('response', () => {
      responses++
      if (responses === threshold + 1) crossedAt = performance.now()
    })
    const r = await run
    await sleep(2500)
    const after = await histogram()
    const bucket = (le) => after[le] - before[le]
    const decided = bucket('+Inf')
    const slow = decided - bucket('0.002')
    if (slow) b.say(`        (validations over 2 ms, by bucket: ${LES.slice(1).map((le, i) => `≤ ${le} s: ${bucket(le) - bucket(LES[i])}`).join(', ')})`)
    const latency = alertAt && crossedAt ? alertAt - crossedAt : Infinity
    b.record(
      'anomaly alert at 5,000/s',
      latency === Infinity ? 'no alert' : `${latency.toFixed(0)}`,
      `ms from crossing ${threshold.toLocaleString()}/min to the alert on Redis (load ${Math.round(r.requests.average).toLocaleString()} req/s, errors ${r.errors + r.non2xx}; ${slow} of ${decided} validations took serve over 2 ms to decide; HTTP round trip p99 ${r.latency.p99} ms)`,
      '5,000 req/s',
      'offered load',
      latency <= 1000 && r.errors + r.non2xx === 0 && decided > 0 && slow <= decided * 0.001,
      'alert ≤ 1 s after the threshold; p99.9 of decisions ≤ 2 ms (at most 0.1% over)',
    )
  } finally {
    await sub.close()
    await serve.stop()
  }
}
