import { createHash } from 'node:crypto'

import type { CoreContext } from '../context.js'
import type { Queryable } from '../db/connect.js'
import { resumeAfterCopy } from '../db/connect.js'
import type { Checkpoint } from './checkpoint.js'

/** Everything the row hash covers, in order, as bytes; then the two stored hashes (SQL migration 0009). */
const CHAIN_COPY = `copy (
  select convert_to(seq::text, 'UTF8'), convert_to(((extract(epoch from created_at) * 1000000)::bigint)::text, 'UTF8'),
         convert_to(actor, 'UTF8'), convert_to(action, 'UTF8'), convert_to(target, 'UTF8'), convert_to(key_id, 'UTF8'),
         convert_to(abbrev(ip_address), 'UTF8'), convert_to(audit_key_id, 'UTF8'), nonce, ciphertext,
         convert_to(legacy_details, 'UTF8'), prev_hash, hash
  from api_key_audit_log order by seq) to stdout (format binary)`
const HASHED_FIELDS = 11
const DOMAIN = Buffer.from('momentry-audit-v1\n', 'utf8')
export const GENESIS = Buffer.alloc(32)

export interface BrokenLink {
  /** The first sequence number whose link does not hold. */
  seq: number
  problem: string
}

export interface CheckpointResult {
  source: string
  seq: number
  status: 'matches' | 'superseded' | 'broken'
  detail?: string
}

export interface VerifyReport {
  ok: boolean
  rows: number
  head: { seq: number; hash: string }
  /** `audit reseal` rows: legitimate restarts of what checkpoints vouch for. */
  epochs: Array<{ seq: number; at: string }>
  checkpoints: CheckpointResult[]
  broken: BrokenLink | null
}

/** One row as COPY sends it: the bytes the hash covers, and what the walk needs to read. */
interface ChainRow {
  seq: number
  at: bigint
  action: string
  hashed: Buffer
  prev: Buffer
  hash: Buffer
}

/** Parses PostgreSQL binary COPY output into rows, across chunk boundaries, without copying field bytes. */
class CopyRows {
  private pending: Buffer = Buffer.alloc(0)
  private headerDone = false

  /** The rows complete in what has arrived so far. */
  push(chunk: Buffer): ChainRow[] {
    const out: ChainRow[] = []
    const buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk
    let at = 0
    if (!this.headerDone) {
      if (buf.length < 19) {
        this.pending = buf
        return out
      }
      at = 19 + buf.readUInt32BE(15) // signature (11), flags (4), extension length (4) + extension
      this.headerDone = true
    }
    for (;;) {
      if (buf.length - at < 2) break
      const fields = buf.readInt16BE(at)
      if (fields === -1) {
        at += 2
        break
      }
      // Walk the field lengths first: a tuple cut by the chunk boundary waits for the next one.
      let p = at + 2
      const offsets: number[] = []
      let complete = true
      for (let f = 0; f < fields; f++) {
        if (buf.length - p < 4) {
          complete = false
          break
        }
        offsets.push(p)
        const len = buf.readInt32BE(p)
        p += 4 + Math.max(len, 0)
        if (p > buf.length) {
          complete = false
          break
        }
      }
      if (!complete) break
      const field = (i: number) => {
        const o = offsets[i]!
        const len = buf.readInt32BE(o)
        return buf.subarray(o + 4, o + 4 + Math.max(len, 0))
      }
      out.push({
        seq: Number(field(0).toString('latin1')),
        at: BigInt(field(1).toString('latin1')),
        action: field(3).toString('utf8'),
        hashed: buf.subarray(at + 2, offsets[HASHED_FIELDS]),
        prev: field(HASHED_FIELDS),
        hash: field(HASHED_FIELDS + 1),
      })
      at = p
    }
    this.pending = buf.subarray(at)
    return out
  }
}

const rows = (from: number, to: number) => (from === to ? `row ${from} was` : `rows ${from}–${to} were`)

/** The running hash: SHA-256(previous ‖ domain ‖ the row's field bytes). */
function rowHash(prev: Buffer, hashed: Buffer): Buffer {
  return createHash('sha256').update(prev).update(DOMAIN).update(hashed).digest()
}

/**
 * Re-walk the whole chain in one consistent snapshot: the sequence is gapless from 1, every
 * row's previous hash is the row before's hash and its own hash matches its bytes (ciphertext
 * included: no key is needed), the head names the last row, and every checkpoint given is
 * a point of this chain. Stops at the first broken link.
 */
export async function verifyChain(ctx: Pick<CoreContext, 'sql'>, checkpoints: Array<{ source: string; checkpoint: Checkpoint }>, origin: string): Promise<VerifyReport> {
  return ctx.sql.begin('isolation level repeatable read read only', async (tx) => walk(tx, checkpoints, origin)) as Promise<VerifyReport>
}

async function walk(tx: Queryable, given: Array<{ source: string; checkpoint: Checkpoint }>, origin: string): Promise<VerifyReport> {
  const [head] = await tx<Array<{ seq: string }>>`select seq::text from audit_chain_head`
  const wanted = new Map<number, Buffer | undefined>(given.map((g) => [g.checkpoint.seq, undefined]))
  const epochs: Array<{ seq: number; at: string }> = []
  let broken: BrokenLink | null = null
  let prev: Buffer = GENESIS
  let expected = 1
  let count = 0

  const parser = new CopyRows()
  const stream = await tx.unsafe(CHAIN_COPY).readable()
  // The COPY is read to its end even past a break: a COPY left half read leaves the
  // connection mid-protocol (the COMMIT fails with COPY_IN_PROGRESS).
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (broken) continue
    for (const row of parser.push(chunk)) {
      if (row.seq !== expected) {
        broken = { seq: expected, problem: expected < row.seq ? `row ${expected} is missing${row.seq > expected + 1 ? ` (rows ${expected}–${row.seq - 1})` : ''}: the chain goes on at ${row.seq}` : `row ${row.seq} appears twice` }
        break
      }
      if (!row.prev.equals(prev)) {
        broken = { seq: row.seq, problem: `its previous-row hash is not row ${row.seq - 1}'s hash: a row was inserted before it, or rows were reordered` }
        break
      }
      const own = rowHash(prev, row.hashed)
      if (!own.equals(row.hash)) {
        broken = { seq: row.seq, problem: 'its contents do not match its hash: a field or the ciphertext was edited' }
        break
      }
      if (row.action === 'audit.reseal') epochs.push({ seq: row.seq, at: new Date(Number(row.at / 1000n)).toISOString() })
      if (wanted.has(row.seq)) wanted.set(row.seq, Buffer.from(own))
      prev = own
      expected++
      count++
    }
  }
  resumeAfterCopy(stream)

  const last = expected - 1
  const walkedAll = !broken
  const headSeq = Number(head!.seq)
  if (!broken && headSeq !== last) {
    broken = headSeq > last
      ? { seq: last + 1, problem: `the chain ends at row ${last} but its head is at ${headSeq}: ${rows(last + 1, headSeq)} removed` }
      : { seq: headSeq + 1, problem: `${rows(headSeq + 1, last)} past the chain head (${headSeq}): written around it` }
  }

  const checkpoints = given.map(({ source, checkpoint: c }): CheckpointResult => {
    const epoch = epochs.find((e) => new Date(e.at) > c.time)
    const fail = (detail: string, firstBad: number): CheckpointResult => {
      if (epoch) return { source, seq: c.seq, status: 'superseded', detail: `${detail}; the chain was resealed at row ${epoch.seq} after this checkpoint` }
      broken ??= { seq: firstBad, problem: `${detail} (checkpoint ${source})` }
      return { source, seq: c.seq, status: 'broken', detail }
    }
    if (!walkedAll && c.seq > last) return { source, seq: c.seq, status: 'broken', detail: 'not reached: the chain breaks before it' }
    if (c.origin !== origin) return fail(`the checkpoint is for ${c.origin}, not this database (${origin})`, c.seq)
    if (c.seq > last) return fail(`the checkpoint vouches for row ${c.seq} but the chain ends at ${last}: ${rows(last + 1, c.seq)} removed`, last + 1)
    const at = wanted.get(c.seq)
    if (c.seq > 0 && !at) return { source, seq: c.seq, status: 'broken', detail: 'not reached: the chain breaks before it' }
    if (c.seq > 0 && !at!.equals(c.hash)) return fail(`row ${c.seq} is not the row the checkpoint vouches for`, c.seq)
    return { source, seq: c.seq, status: 'matches' }
  })

  return { ok: !broken, rows: count, head: { seq: headSeq, hash: prev.toString('base64') }, epochs, checkpoints, broken }
}
