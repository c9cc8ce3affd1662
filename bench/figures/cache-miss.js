// In-process verifyKey on a cache miss (one PostgreSQL lookup), at ~1k and at 1M stored keys,
// each lookup beside a bare postgres.js lookup of the same row (SPEC §14: p99 ≤ 1.25× the
// bare p99; flat from 1k to 1M, ≤ 1.5×). The table is settled (vacuum, analyze, checkpoint)
// before each measurement: a 1M-row bulk insert otherwise leaves autovacuum and a
// checkpoint's writes running under the first seconds of lookups.
import { createHash } from 'node:crypto'

import { pct } from '../lib.js'

export const name = 'cache-miss'

export async function run(b) {
  const { sql } = b
  const PASSES = 3
  const settle = async () => {
    await sql`vacuum analyze api_keys`
    await sql`checkpoint`
    globalThis.gc?.() // start from a clean heap: the benchmarks before left plenty of garbage
  }
  const missLatencies = async () => {
    await settle()
    const core = b.newCore()
    const ctx = core.ctx
    // Warm every pooled connection (postgres.js prepares each statement once per connection).
    await Promise.all(Array.from({ length: 8 }, (_, i) => b.lib.verifyKey(ctx, { key: b.keys[i] })))
    const ours = []
    const bare = []
    const hashes = b.keys.map((k) => createHash('sha256').update(k).digest())
    for (let pass = 0; pass < PASSES; pass++) {
      ctx.validation.cache.clear()
      for (let i = 0; i < b.keys.length; i++) {
        const ourTurn = async () => {
          const t = performance.now()
          const r = await b.lib.verifyKey(ctx, { key: b.keys[i] })
          ours.push(performance.now() - t)
          if (!r.valid) throw new Error('miss bench key invalid')
        }
        const bareTurn = async () => {
          const t = performance.now()
          await sql`select key_hash, key_id, name, key_type, scopes, owner, enabled, expires_at, grace_expires_at, revoked_at, replaced_by from api_keys where key_hash = ${hashes[i]}`
          bare.push(performance.now() - t)
        }
        // Whoever goes second finds the row in PostgreSQL's buffers: take turns going first.
        if (i % 2) await bareTurn().then(ourTurn)
        else await ourTurn().then(bareTurn)
      }
    }
    await core.close()
    return { ours, bare }
  }
  b.say(`verifyKey, cache miss at ~1k keys (${PASSES} passes)…`)
  const small = await missLatencies()
  b.say(`filling the table to ${b.total.toLocaleString()} keys…`)
  await b.fill()
  b.say(`verifyKey, cache miss at ${b.total.toLocaleString()} keys (${PASSES} passes)…`)
  const big = await missLatencies()
  const p99Small = pct(small.ours, 99)
  const p99Big = pct(big.ours, 99)
  const bareBig = pct(big.bare, 99)
  const vsBare = p99Big / Math.max(bareBig, 0.05)
  const flat = p99Big / Math.max(p99Small, 0.2)
  b.record(
    'verifyKey cache miss p99',
    p99Big.toFixed(3),
    `ms at ${b.total.toLocaleString()} keys (${big.ours.length} lookups; p50 ${pct(big.ours, 50).toFixed(3)})`,
    `bare postgres.js lookup of the same rows p99 ${bareBig.toFixed(3)} ms (p50 ${pct(big.bare, 50).toFixed(3)}); ours at 1k keys p99 ${p99Small.toFixed(3)} ms, bare ${pct(small.bare, 99).toFixed(3)} ms`,
    'same run',
    vsBare <= 1.25 && flat <= 1.5,
    `≤ 1.25× the bare p99 (got ${vsBare.toFixed(2)}×), ≤ 1.5× the 1k figure (got ${flat.toFixed(2)}×)`,
  )
}
