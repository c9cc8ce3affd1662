// The audit trail (SPEC §14): `audit verify` over 1M chained rows as a share of a bare
// SHA-256 loop over the same row bytes (≥ 50%), and a key change with its chained, encrypted
// audit row vs the same change with a plain insert of the row (≤ 1.3×).
import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'

import { env, median } from '../lib.js'

export const name = 'audit'
// Measured on this checkout only: a baseline built before the chain has no `audit verify`.
export const baseline = false

const DOMAIN = Buffer.from('momentry-audit-v1\n')
const field = (b) => {
  const len = Buffer.alloc(4)
  if (b === null) {
    len.writeInt32BE(-1)
    return len
  }
  len.writeInt32BE(b.length)
  return Buffer.concat([len, b])
}
const text = (s) => field(s === null ? null : Buffer.from(s, 'utf8'))
const hex = (b) => `\\\\x${b.toString('hex')}`

/** `rows` chained rows, written with COPY (triggers off), hashed here the way migration 0009 defines. */
export async function fillChain(sql, rows) {
  const hashed = []
  let prev = Buffer.alloc(32)
  const epoch = 1_790_000_000
  const lines = []
  const flush = async () => {
    if (!lines.length) return
    const body = lines.join('')
    lines.length = 0
    await sql.begin(async (tx) => {
      const w = await tx`copy api_key_audit_log (seq, created_at, actor, action, target, key_id, audit_key_id, nonce, ciphertext, prev_hash, hash) from stdin`.writable()
      await pipeline(Readable.from([body]), w)
    })
  }
  await sql.begin(async (tx) => {
    await tx`alter table api_key_audit_log disable trigger user`
    await tx`alter table audit_chain_head disable trigger user`
  })
  for (let seq = 1; seq <= rows; seq++) {
    const at = epoch + seq
    const keyId = `key_${String(seq % 100_000).padStart(16, '0')}`
    const nonce = randomBytes(12)
    const ciphertext = randomBytes(72)
    const bytes = Buffer.concat([
      text(String(seq)), text(String(at * 1_000_000)), text('cli:bench'), text('key.revoke'), text(keyId), text(keyId),
      text(null), text('ak_000000000000'), field(nonce), field(ciphertext), text(null),
    ])
    const hash = createHash('sha256').update(prev).update(DOMAIN).update(bytes).digest()
    hashed.push(bytes)
    lines.push(`${seq}\t${new Date(at * 1000).toISOString()}\tcli:bench\tkey.revoke\t${keyId}\t${keyId}\tak_000000000000\t${hex(nonce)}\t${hex(ciphertext)}\t${hex(prev)}\t${hex(hash)}\n`)
    prev = hash
    if (lines.length === 50_000) await flush()
  }
  await flush()
  await sql`update audit_chain_head set seq = ${rows}`
  await sql.begin(async (tx) => {
    await tx`alter table api_key_audit_log enable trigger user`
    await tx`alter table audit_chain_head enable trigger user`
  })
  return hashed
}

export async function run(b) {
  const rows = b.quick ? 100_000 : 1_000_000
  // A database of its own: the chain must start at 1 and nothing else may append meanwhile.
  const { connectPostgres } = b.lib
  const sql = connectPostgres(await b.emptyDatabase(), { max: 2 })
  try {
    b.say(`audit: writing ${rows.toLocaleString()} chained rows…`)
    const hashed = await fillChain(sql, rows)
    await sql`vacuum analyze api_key_audit_log`
    const ours = []
    const bare = []
    for (let round = 0; round < 3; round++) {
      let t = performance.now()
      const report = await b.lib.verifyChain({ sql }, [], 'momentry-audit/bench')
      ours.push(performance.now() - t)
      if (!report.ok || report.rows !== rows) throw new Error(`audit verify on the bench chain: ${JSON.stringify(report.broken)} after ${report.rows} rows`)
      t = performance.now()
      let prev = Buffer.alloc(32)
      for (const bytes of hashed) prev = createHash('sha256').update(prev).update(DOMAIN).update(bytes).digest()
      bare.push(performance.now() - t)
    }
    const share = median(bare) / median(ours)
    b.record(
      'audit verify',
      `${Math.round(rows / (median(ours) / 1000)).toLocaleString()} rows/s`,
      `over ${rows.toLocaleString()} rows (${(median(ours) / 1000).toFixed(2)} s)`,
      `${Math.round(rows / (median(bare) / 1000)).toLocaleString()} rows/s`,
      'a bare SHA-256 loop over the same row bytes',
      share >= 0.5,
      `≥ 50% of the bare loop (got ${(share * 100).toFixed(0)}%)`,
    )
  } finally {
    await sql.end({ timeout: 1 })
  }

  // A key change: disable then enable, each in its own transaction with its audit row. No
  // side effects attached (webhooks would add their own queries to one side only).
  const core = b.lib.openCore({ config: b.lib.loadConfig(env), sql: b.sql, redis: async () => undefined, actor: 'bench', effects: [] })
  const { ctx } = core
  const { key } = await b.lib.createKey(ctx, { name: 'bench-audit', type: 'service' })
  await b.sql`create table if not exists bench_plain_audit (id bigint generated always as identity primary key, key_id text, action text not null, actor text not null, ip_address inet, details jsonb not null, created_at timestamptz not null)`
  const plain = async (enabled) =>
    b.sql.begin(async (tx) => {
      await tx`set local lock_timeout = '5s'`
      await tx`select * from api_keys where key_id = ${key.id} for update`
      const now = new Date()
      await tx`update api_keys set enabled = ${enabled}, disabled_at = ${enabled ? null : now}, disabled_reason = ${enabled ? null : 'bench'} where key_id = ${key.id} returning *`
      await tx`insert into bench_plain_audit (key_id, action, actor, ip_address, details, created_at) values (${key.id}, ${enabled ? 'key.enable' : 'key.disable'}, 'bench', ${null}, ${tx.json({ reason: enabled ? null : 'bench' })}, ${now})`
    })
  // Interleaved, change by change, so both sides see the same machine; medians of each.
  const n = b.quick ? 300 : 1000
  const chained = []
  const inserted = []
  for (let i = 0; i < n; i++) {
    const enabled = i % 2 === 1
    let t = performance.now()
    if (enabled) await b.lib.enableKey(ctx, { id: key.id })
    else await b.lib.disableKey(ctx, { id: key.id, reason: 'bench' })
    chained.push(performance.now() - t)
    t = performance.now()
    await plain(enabled)
    inserted.push(performance.now() - t)
  }
  await core.close()
  const [ours, base] = [median(chained.slice(50)), median(inserted.slice(50))]
  const ratio = ours / base
  b.record(
    'audit write',
    `${(ours * 1000).toFixed(0)} µs per key change`,
    'with its chained, encrypted audit row',
    `${(base * 1000).toFixed(0)} µs`,
    'the same change with a plain insert of the row',
    ratio <= 1.3,
    `≤ 1.3× (got ${ratio.toFixed(2)}×)`,
  )
}
