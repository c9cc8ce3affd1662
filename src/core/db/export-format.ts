import type { Hash } from 'node:crypto'
import { createHash } from 'node:crypto'
import type { FileHandle } from 'node:fs/promises'

/**
 * The `db export` file, version 2 (version 1 had no counts in its header and no trailer):
 *
 *     momentry-export 2
 *     {"exportedAt":…,"source":…,"migrations":[…],"tables":{"api_keys":3,…}}
 *     \table api_keys 3 ["id","name",…]
 *     …COPY text rows…
 *     \.
 *     \table …                                (every table the header counts, in its order)
 *     \sha256 <hex of every byte above this line>
 *
 * A file cut anywhere, at a table boundary too, lacks the trailer or fails its sum, so an
 * import refuses it before it commits anything.
 */
export const MAGIC_V1 = 'momentry-export 1'
export const MAGIC_V2 = 'momentry-export 2'
export const TRAILER = '\\sha256 '

/** The file is not (or not all of) an export; the message says why, for the caller to name the file. */
export class ExportFormatError extends Error {}

/**
 * Writes an export through one file handle with promises only (no stream whose 'error'
 * could go unheard), in batches: COPY hands over one row at a time. Every byte is summed.
 */
export class ExportWriter {
  private readonly sum: Hash = createHash('sha256')
  private pending: Buffer[] = []
  private size = 0
  bytes = 0

  constructor(
    private readonly fh: FileHandle,
    private readonly batch = 256 * 1024,
  ) {}

  async write(chunk: string | Buffer): Promise<void> {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    this.sum.update(buf)
    this.pending.push(buf)
    this.size += buf.length
    if (this.size >= this.batch) await this.flush()
  }

  /** The trailer, then everything on disk (fsync), so a rename after it publishes a whole file. */
  async finish(): Promise<void> {
    const trailer = `${TRAILER}${this.sum.digest('hex')}\n`
    this.pending.push(Buffer.from(trailer))
    this.size += trailer.length
    await this.flush()
    await this.fh.sync()
  }

  private async flush(): Promise<void> {
    const data = Buffer.concat(this.pending, this.size)
    this.pending = []
    this.size = 0
    // A short write (it happens near a size limit) leaves the rest for the next call, which then fails with the reason.
    for (let at = 0; at < data.length; ) at += (await this.fh.write(data, at)).bytesWritten
    this.bytes += data.length
  }
}

const NL = 0x0a
const BACKSLASH = 0x5c
const DOT = 0x2e
/** Longer than any header or `\table` line momentry writes. */
const MAX_LINE = 1024 * 1024

/**
 * Reads an export from its chunks: control lines as text, each table's rows as raw bytes
 * (never decoded, so they reach COPY exactly as they were written), summing every byte.
 */
export class ExportReader {
  private readonly sum: Hash = createHash('sha256')
  private before: Hash | undefined
  private buf: Buffer = Buffer.alloc(0)
  private ended = false
  /** Rows passed on by the last `rows()`. */
  rowCount = 0
  private readonly chunks: AsyncIterator<Buffer>

  constructor(input: AsyncIterable<Buffer>) {
    this.chunks = input[Symbol.asyncIterator]()
  }

  /** The next line without its newline; undefined at the end of the file. */
  async line(): Promise<string | undefined> {
    let nl = this.buf.indexOf(NL)
    while (nl === -1) {
      if (this.buf.length > MAX_LINE) throw new ExportFormatError('a line is far longer than any momentry writes')
      if (!(await this.fill())) {
        if (this.buf.length) throw new ExportFormatError('it ends in the middle of a line')
        return undefined
      }
      nl = this.buf.indexOf(NL)
    }
    this.before = this.sum.copy()
    return this.take(nl + 1).toString('utf8', 0, nl)
  }

  /** The sha256 (hex) of everything before the line `line()` returned last. */
  sumBeforeLastLine(): string {
    return (this.before ?? createHash('sha256')).digest('hex')
  }

  /**
   * One table's COPY rows, in chunks of whole bytes as read, up to and without the `\.`
   * line that ends them (consumed). `rows` is their count once the generator is done.
   */
  async *rows(table: string): AsyncGenerator<Buffer> {
    this.rowCount = 0
    // True while the bytes at the start of `buf` continue a row already passed on.
    let midRow = false
    for (;;) {
      let start = 0
      for (let nl = this.buf.indexOf(NL); nl !== -1; nl = this.buf.indexOf(NL, start)) {
        if (!midRow && nl - start === 2 && this.buf[start] === BACKSLASH && this.buf[start + 1] === DOT) {
          if (start) yield this.take(start)
          this.take(3)
          return
        }
        midRow = false
        this.rowCount++
        start = nl + 1
      }
      // What follows the last newline: passed on unless it may be the start of `\.`.
      let end = this.buf.length
      if (!midRow && end - start <= 2) end = start
      else if (end > start) midRow = true
      if (end) yield this.take(end)
      if (!(await this.fill())) throw new ExportFormatError(`it ends inside ${table}`)
    }
  }

  /** Whether nothing follows. */
  async atEnd(): Promise<boolean> {
    while (!this.buf.length) if (!(await this.fill())) return true
    return false
  }

  private take(n: number): Buffer {
    const part = this.buf.subarray(0, n)
    this.sum.update(part)
    this.buf = this.buf.subarray(n)
    return part
  }

  private async fill(): Promise<boolean> {
    if (this.ended) return false
    const r = await this.chunks.next()
    if (r.done) {
      this.ended = true
      return false
    }
    this.buf = this.buf.length ? Buffer.concat([this.buf, r.value]) : r.value
    return true
  }
}
