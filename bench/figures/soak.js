// `serve` for 10 minutes at half its maximum rate (SPEC §14): RSS growth ≤ 10% after the first
// minute's warm-up, and the last minute's p99 ≤ 1.2× the first's. Runs only when named
// (`npm run bench -- --only soak`): it takes the whole 10 minutes (1 with --quick).
import { load, median, rssMb, spawnServe } from '../lib.js'
import { loadAtRate } from '../open-loop.js'

export const name = 'soak'
export const onlyWhenNamed = true

export async function run(b) {
  const serve = await spawnServe({}, b.bin)
  try {
    const body = JSON.stringify({ key: b.keys[0], ip: '192.0.2.7' })
    const url = `${serve.url}/v1/keys/verify`
    await load(url, body, 1)
    const max = median([await load(url, body, 2), await load(url, body, 2), await load(url, body, 2)].map((r) => r.rps))
    const rate = Math.round(max / 2)
    const minutes = b.quick ? 2 : 10
    const chunk = b.quick ? 30 : 60
    b.say(`soak: ${minutes} × ${chunk} s at ${rate.toLocaleString()} req/s (half of ${max.toLocaleString()})…`)
    const per = []
    for (let i = 0; i < minutes; i++) {
      const r = await loadAtRate(url, body, chunk, rate)
      per.push({ minute: i + 1, rps: r.rps, p99: r.p99, p999: r.p999, errors: r.errors, rssMb: Math.round(rssMb(serve.child.pid) * 10) / 10 })
      b.say(`  ${chunk === 60 ? 'minute' : `${chunk} s run`} ${i + 1}: ${r.rps.toLocaleString()} req/s, p99 ${r.p99} ms, RSS ${per[i].rssMb} MB, errors ${r.errors}`)
    }
    const [first, last] = [per[0], per[per.length - 1]]
    const growth = last.rssMb / first.rssMb - 1
    const tail = last.p99 / Math.max(first.p99, 1)
    const errors = per.reduce((n, p) => n + p.errors, 0)
    b.record(
      'serve soak',
      `RSS ${first.rssMb} → ${last.rssMb} MB (${(growth * 100).toFixed(1)}%), p99 ${first.p99} → ${last.p99} ms`,
      `${minutes} × ${chunk} s at ${rate.toLocaleString()} req/s, errors ${errors}`,
      `minute 1: ${first.rssMb} MB, p99 ${first.p99} ms`,
      'the first minute (warm-up)',
      growth <= 0.1 && tail <= 1.2 && errors === 0,
      'RSS growth ≤ 10%, last p99 ≤ 1.2× the first',
      { perMinute: per },
    )
  } finally {
    await serve.stop()
  }
}
