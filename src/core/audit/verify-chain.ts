import { hash } from 'node:crypto'
import type { Readable } from 'node:stream'

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
const EMPTY = Buffer.alloc(0)

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

/** Where a field of a COPY row sits in it. */
const SEQ = 0
const AT = 1
const ACTION = 3
const PREV = HASHED_FIELDS
const HASH = HASHED_FIELDS + 1
const FIELDS = HASHED_FIELDS + 2

/**
 * One row as COPY sent it, as places in the buffer that holds it: field `f` is
 * buf[starts[f], ends[f]) (a NULL is empty), and the bytes the hash covers run from
 * `hashedStart` to the length word of the stored previous hash. Nothing is copied or sliced
 * (at a million rows every allocation per row shows): one view is reused for every row.
 */
interface ChainRow {
  buf: Buffer
  seq: number
  hashedStart: number
  readonly starts: Int32Array
  readonly ends: Int32Array
}

/**
 * Parses PostgreSQL binary COPY output into rows, across chunk boundaries, handing each
 * complete row to `visit` (which returns false to stop reading this chunk).
 */
class CopyRows {
  private pending: Buffer = EMPTY
  private headerDone = false
  private readonly row: ChainRow = { buf: EMPTY, seq: 0, hashedStart: 0, starts: new Int32Array(FIELDS), ends: new Int32Array(FIELDS) }

  push(chunk: Buffer, visit: (row: ChainRow) => boolean): void {
    const buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk
    let at = 0
    if (!this.headerDone) {
      if (buf.length < 19) {
        this.pending = buf
        return
      }
      at = 19 + buf.readUInt32BE(15) // signature (11), flags (4), extension length (4) + extension
      this.headerDone = true
    }
    const row = this.row
    const { starts, ends } = row
    row.buf = buf
    for (;;) {
      if (buf.length - at < 2) break
      const fields = buf.readInt16BE(at)
      if (fields === -1) {
        at += 2
        break
      }
      // Walk the field lengths first: a tuple cut by the chunk boundary waits for the next one.
      let p = at + 2
      let complete = true
      for (let f = 0; f < fields; f++) {
        if (buf.length - p < 4) {
          complete = false
          break
        }
        const len = buf.readInt32BE(p)
        starts[f] = p + 4
        p += 4 + (len > 0 ? len : 0)
        ends[f] = p
        if (p > buf.length) {
          complete = false
          break
        }
      }
      if (!complete) break
      row.seq = digits(buf, starts[SEQ]!, ends[SEQ]!)
      row.hashedStart = at + 2
      at = p
      if (!visit(row)) break
    }
    this.pending = at === buf.length ? EMPTY : buf.subarray(at)
  }
}

/** The decimal number in buf[start, end) (`seq::text`: digits only). */
function digits(buf: Buffer, start: number, end: number): number {
  let n = 0
  for (let i = start; i < end; i++) n = n * 10 + (buf[i]! - 48)
  return end > start ? n : NaN
}

const RESEAL = Buffer.from('audit.reseal', 'utf8')

/**
 * Whether buf[start, end) holds exactly `other`'s bytes. A loop: Buffer#compare with offsets
 * goes through a native call that costs more than comparing 32 bytes here.
 */
function sameBytes(buf: Buffer, start: number, end: number, other: Buffer): boolean {
  if (end - start !== other.length) return false
  for (let i = 0; i < other.length; i++) if (buf[start + i] !== other[i]) return false
  return true
}

const rows = (from: number, to: number) => (from === to ? `row ${from} was` : `rows ${from}–${to} were`)

/**
 * The running hash: SHA-256(previous ‖ domain ‖ the row's field bytes), with the three laid
 * side by side in `scratch` and hashed in one call (a hash object and three updates per row
 * cost more than the hashing itself). `scratch` is grown when a row needs more.
 */
class RowHasher {
  private scratch = Buffer.alloc(4096)

  constructor() {
    DOMAIN.copy(this.scratch, 32)
  }

  hash(prev: Buffer, row: ChainRow): Buffer {
    const hashedEnd = row.starts[PREV]! - 4 // up to the previous hash's length word
    const size = 32 + DOMAIN.length + (hashedEnd - row.hashedStart)
    if (size > this.scratch.length) {
      this.scratch = Buffer.alloc(size * 2)
      DOMAIN.copy(this.scratch, 32)
    }
    prev.copy(this.scratch, 0)
    row.buf.copy(this.scratch, 32 + DOMAIN.length, row.hashedStart, hashedEnd)
    return hash('sha256', this.scratch.subarray(0, size), 'buffer')
  }
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
  const hasher = new RowHasher()
  const visit = (row: ChainRow): boolean => {
    const { buf, seq, starts, ends } = row
    if (seq !== expected) {
      broken = { seq: expected, problem: expected < seq ? `row ${expected} is missing${seq > expected + 1 ? ` (rows ${expected}–${seq - 1})` : ''}: the chain goes on at ${seq}` : `row ${seq} appears twice` }
      return false
    }
    if (!sameBytes(buf, starts[PREV]!, ends[PREV]!, prev)) {
      broken = { seq, problem: `its previous-row hash is not row ${seq - 1}'s hash: a row was inserted before it, or rows were reordered` }
      return false
    }
    const own = hasher.hash(prev, row)
    if (!sameBytes(buf, starts[HASH]!, ends[HASH]!, own)) {
      broken = { seq, problem: 'its contents do not match its hash: a field or the ciphertext was edited' }
      return false
    }
    if (sameBytes(buf, starts[ACTION]!, ends[ACTION]!, RESEAL)) {
      const micros = BigInt(buf.toString('latin1', starts[AT]!, ends[AT]!))
      epochs.push({ seq, at: new Date(Number(micros / 1000n)).toISOString() })
    }
    if (wanted.has(seq)) wanted.set(seq, own)
    prev = own
    expected++
    count++
    return true
  }
  const stream = (await tx.unsafe(CHAIN_COPY).readable()) as Readable
  // Read with 'data' events rather than `for await`, which costs a promise per chunk, and
  // PostgreSQL sends a COPY a row per message. The COPY is read to its end even past a
  // break: a COPY left half read leaves the connection mid-protocol (the COMMIT fails with
  // COPY_IN_PROGRESS).
  let failed: { error: unknown } | undefined
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => {
      if (broken || failed) return
      try {
        parser.push(chunk, visit)
      } catch (error) {
        failed = { error }
      }
    })
    stream.once('end', resolve)
    stream.once('error', reject)
  })
  resumeAfterCopy(stream)
  if (failed) throw failed.error

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
