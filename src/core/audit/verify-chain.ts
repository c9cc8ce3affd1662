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

/**
 * One row as COPY sent it, as places in the buffer that holds it (no field is copied or
 * sliced: at a million rows, each allocation per row shows). One view is reused for every row.
 */
interface ChainRow {
  buf: Buffer
  seq: number
  /** The bytes the hash covers: [hashedStart, hashedEnd). */
  hashedStart: number
  hashedEnd: number
  /** The stored previous hash and the row's own hash: where their bytes start and end. */
  prevStart: number
  prevEnd: number
  hashStart: number
  hashEnd: number
  /** `action`, and `created_at` in microseconds since the epoch, as text. */
  actionStart: number
  actionEnd: number
  atStart: number
  atEnd: number
}

const FIELDS = HASHED_FIELDS + 2

/**
 * Parses PostgreSQL binary COPY output into rows, across chunk boundaries, handing each
 * complete row to `visit` (which returns false to stop reading this chunk).
 */
class CopyRows {
  private pending: Buffer = Buffer.alloc(0)
  private headerDone = false
  private readonly offsets = new Int32Array(FIELDS)
  private readonly row: ChainRow = { buf: this.pending, seq: 0, hashedStart: 0, hashedEnd: 0, prevStart: 0, prevEnd: 0, hashStart: 0, hashEnd: 0, actionStart: 0, actionEnd: 0, atStart: 0, atEnd: 0 }

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
    const offsets = this.offsets
    const row = this.row
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
        offsets[f] = p
        const len = buf.readInt32BE(p)
        p += 4 + (len > 0 ? len : 0)
        if (p > buf.length) {
          complete = false
          break
        }
      }
      if (!complete) break
      row.seq = digits(buf, offsets[0]!)
      row.hashedStart = at + 2
      row.hashedEnd = offsets[HASHED_FIELDS]!
      fieldAt(buf, offsets[1]!, row, 'atStart', 'atEnd')
      fieldAt(buf, offsets[3]!, row, 'actionStart', 'actionEnd')
      fieldAt(buf, offsets[HASHED_FIELDS]!, row, 'prevStart', 'prevEnd')
      fieldAt(buf, offsets[HASHED_FIELDS + 1]!, row, 'hashStart', 'hashEnd')
      at = p
      if (!visit(row)) break
    }
    this.pending = at === buf.length ? EMPTY : buf.subarray(at)
  }
}

const EMPTY = Buffer.alloc(0)

/** Where the field whose length word is at `o` starts and ends (a NULL is empty). */
function fieldAt(buf: Buffer, o: number, row: ChainRow, start: 'atStart' | 'actionStart' | 'prevStart' | 'hashStart', end: 'atEnd' | 'actionEnd' | 'prevEnd' | 'hashEnd'): void {
  const len = buf.readInt32BE(o)
  row[start] = o + 4
  row[end] = o + 4 + (len > 0 ? len : 0)
}

/** The decimal number in the text field whose length word is at `o` (`seq::text`: digits only). */
function digits(buf: Buffer, o: number): number {
  const len = buf.readInt32BE(o)
  let n = 0
  for (let i = o + 4; i < o + 4 + len; i++) n = n * 10 + (buf[i]! - 48)
  return len > 0 ? n : NaN
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
    const size = 32 + DOMAIN.length + (row.hashedEnd - row.hashedStart)
    if (size > this.scratch.length) {
      this.scratch = Buffer.alloc(size * 2)
      DOMAIN.copy(this.scratch, 32)
    }
    prev.copy(this.scratch, 0)
    row.buf.copy(this.scratch, 32 + DOMAIN.length, row.hashedStart, row.hashedEnd)
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
    const { buf, seq } = row
    if (seq !== expected) {
      broken = { seq: expected, problem: expected < seq ? `row ${expected} is missing${seq > expected + 1 ? ` (rows ${expected}–${seq - 1})` : ''}: the chain goes on at ${seq}` : `row ${seq} appears twice` }
      return false
    }
    if (!sameBytes(buf, row.prevStart, row.prevEnd, prev)) {
      broken = { seq, problem: `its previous-row hash is not row ${seq - 1}'s hash: a row was inserted before it, or rows were reordered` }
      return false
    }
    const own = hasher.hash(prev, row)
    if (!sameBytes(buf, row.hashStart, row.hashEnd, own)) {
      broken = { seq, problem: 'its contents do not match its hash: a field or the ciphertext was edited' }
      return false
    }
    if (sameBytes(buf, row.actionStart, row.actionEnd, RESEAL)) {
      const micros = BigInt(buf.toString('latin1', row.atStart, row.atEnd))
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
