// `serve` latency at half its measured maximum rate (SPEC §14: p99 ≤ 2 ms, p99.9 ≤ 5 ms,
// client-measured): the maximum from short saturating runs, then a fixed offered rate of half
// that over 10 connections. Beside it, the floor node:http server at the same offered rate,
// so the machine's own share of the tail is visible.
import { load, loadAtRate, median, spawnServe } from '../lib.js'
import { FLOOR, nodeServer } from './serve.js'

export const name = 'serve-latency'

export async function run(b) {
  const serve = await spawnServe({}, b.bin)
  const floor = await nodeServer(FLOOR)
  try {
    const body = JSON.stringify({ key: b.keys[0], ip: '192.0.2.7' })
    const verifyUrl = `${serve.url}/v1/keys/verify`
    await load(verifyUrl, body, 1)
    const max = median([await load(verifyUrl, body, 2), await load(verifyUrl, body, 2), await load(verifyUrl, body, 2)].map((r) => r.rps))
    const rate = Math.round(max / 2)
    const seconds = b.quick ? 5 : 15
    b.say(`serve latency at ${rate.toLocaleString()} req/s (half of ${max.toLocaleString()}), ${seconds} s…`)
    const ours = await loadAtRate(verifyUrl, body, seconds, rate)
    const base = await loadAtRate(floor.url, body, seconds, rate)
    b.record(
      'serve latency at half the maximum rate',
      `p99 ${ours.p99} ms, p99.9 ${ours.p999} ms`,
      `at ${rate.toLocaleString()} req/s offered (${ours.rps.toLocaleString()} served, errors ${ours.errors})`,
      `p99 ${base.p99} ms, p99.9 ${base.p999} ms`,
      'the floor server at the same rate',
      ours.p99 <= 2 && ours.p999 <= 5 && ours.errors === 0,
      'p99 ≤ 2 ms, p99.9 ≤ 5 ms',
    )
  } finally {
    floor.stop()
    await serve.stop()
  }
}
