// Over 250 lines for a reason: export and import are one format seen from both ends (tables,
// columns, counts, checksum, the COPY workarounds for postgres.js); kept together so a change to
// one side cannot miss the other. The file format itself is in export-format.ts.
import { randomBytes } from 'node:crypto'
import type { FileHandle } from 'node:fs/promises'
import { open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'

import * as z from 'zod'

import { FLUSH_ALL, PG_CHANNELS } from '../channels.js'
import type { CoreContext } from '../context.js'
import { ConflictError, MomentryError, UsageError } from '../errors.js'
import type { Queryable } from './connect.js'
import { resumeAfterCopy } from './connect.js'
import { ExportFormatError, ExportReader, ExportWriter, MAGIC_V1, MAGIC_V2, TRAILER } from './export-format.js'
import { appliedMigrations } from './migrate.js'
import { migrateDatabase } from './migrate-database.js'
import { sealPlainWebhookSecrets } from '../webhooks/webhook-secret.js'

/**
 * What `db export` moves, in an order that loads cleanly: every momentry table but the
 * lockout counters (`ip_failures`, minutes-long state) and the migrations (the target has
 * its own). References are loaded with constraints deferred (sql/0008).
 */
export const EXPORT_TABLES = [
  'api_keys',
  'api_key_audit_log',
  'api_key_anomalies',
  'key_usage_minute',
  'validation_failure_minute',
  'ip_blacklist',
  'webhooks',
  'webhook_deliveries',
  'gitea_tokens',
  'n8n_api_keys',
  'momentry_instance',
  'audit_chain_head',
  'audit_checkpoints',
] as const
/** One-row tables every migrated database has: replaced by the file's row, never "held data". */
const SINGLETONS: readonly string[] = ['momentry_instance', 'audit_chain_head']
/** Tables whose triggers guard the audit chain: off while an import loads a chain that is already linked. */
const GUARDED = ['api_key_audit_log', 'audit_chain_head'] as const
type Table = (typeof EXPORT_TABLES)[number]

export interface ExportSummary {
  file: string
  bytes: number
  /** Rows per table. */
  rows: Record<string, number>
  migrations: string[]
  /** Where it came from: `embedded` or `server`. */
  source: 'embedded' | 'server'
}

const columnsOf = async (q: Queryable, table: string): Promise<string[]> =>
  (await q`select column_name from information_schema.columns where table_schema = current_schema() and table_name = ${table} order by ordinal_position`).map((r) => r.column_name as string)

const migrationsIn = async (q: Queryable): Promise<string[]> => (await appliedMigrations(q)).map((m) => m.name)

/** What the errno of a failed read or write of the user's file means, in words. */
const FILE_ERRORS: Record<string, { why: string; hint?: string }> = {
  ENOENT: { why: 'no such file or directory' },
  ENOTDIR: { why: 'a part of the path is not a directory' },
  EISDIR: { why: 'it is a directory' },
  EACCES: { why: 'permission denied', hint: 'Give a path this user may use' },
  EPERM: { why: 'operation not permitted', hint: 'Give a path this user may use' },
  EROFS: { why: 'read-only file system', hint: 'Give a path on a writable disk' },
  ENOSPC: { why: 'no space left on the device', hint: 'Free some space, or write it to another disk' },
  EDQUOT: { why: 'disk quota exceeded', hint: 'Free some space, or write it to another disk' },
  EFBIG: { why: 'larger than this process may write', hint: 'Raise the file size limit (ulimit -f), or write it elsewhere' },
  EIO: { why: 'input/output error', hint: 'Check the disk, or use a copy of the file on another one' },
  ENAMETOOLONG: { why: 'the name is too long' },
  ELOOP: { why: 'too many symbolic links' },
  EMFILE: { why: 'too many open files', hint: 'Try again with fewer programs running' },
}

/** The calls on the user's file; a socket's errors (connect EACCES on the embedded socket…) are the database's. */
const FILE_SYSCALLS = new Set(['open', 'read', 'write', 'fsync', 'fstat', 'close', 'rename', 'unlink'])

/** A failed read or write of `file` as one usage line (exit 2), or undefined when it was something else. */
function fileError(error: unknown, verb: 'read' | 'write', file: string, defaultHint: string): UsageError | undefined {
  const e = error as NodeJS.ErrnoException | undefined
  const known = e?.code === undefined ? undefined : FILE_ERRORS[e.code]
  if (!known || !FILE_SYSCALLS.has(e?.syscall ?? '')) return undefined
  const done = verb === 'write' ? '; nothing was written' : ''
  return new UsageError(`cannot ${verb} ${file}: ${known.why} (${e!.code})${done}`, known.hint ?? defaultHint)
}

/**
 * Write everything momentry holds to `file` (0600, although its secrets are sealed), from
 * one consistent snapshot, as PostgreSQL COPY text per table between a header that counts
 * the rows and a trailer that sums the bytes (export-format.ts). The file appears whole or
 * not at all: it is written beside the target, synced, then renamed over it.
 */
export async function exportDatabase(ctx: CoreContext, file: string): Promise<ExportSummary> {
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(4).toString('hex')}.partial`)
  const hint = 'Give a path in an existing directory'
  let fh: FileHandle | undefined
  try {
    fh = await open(tmp, 'wx', 0o600)
    const out = new ExportWriter(fh)
    const summary = await ctx.sql.begin('isolation level repeatable read read only', async (tx) => {
      const migrations = await migrationsIn(tx)
      const source = ctx.config.databaseUrl ? ('server' as const) : ('embedded' as const)
      const rows: Record<string, number> = {}
      for (const table of EXPORT_TABLES) rows[table] = ((await tx`select count(*)::int as n from ${tx(table)}`)[0] as { n: number }).n
      await out.write(`${MAGIC_V2}\n${JSON.stringify({ exportedAt: ctx.clock.now().toISOString(), source, migrations, tables: rows })}\n`)
      for (const table of EXPORT_TABLES) {
        const columns = await columnsOf(tx, table)
        await out.write(`\\table ${table} ${rows[table]} ${JSON.stringify(columns)}\n`)
        const copy = await tx`copy ${tx(table)} (${tx(columns)}) to stdout`.readable()
        // A failed write does not stop the COPY half way (its connection would be left
        // mid-protocol): the rest of the table is read and dropped, then the error thrown.
        let failed: { error: unknown } | undefined
        for await (const chunk of copy as AsyncIterable<Buffer>) {
          if (!failed) await out.write(chunk).catch((error: unknown) => (failed = { error }))
        }
        resumeAfterCopy(copy)
        if (failed) throw failed.error
        await out.write('\\.\n')
      }
      await out.finish()
      return { rows, migrations, source }
    })
    await fh.close()
    fh = undefined
    await rename(tmp, file)
    return { file, bytes: out.bytes, ...summary }
  } catch (error) {
    await fh?.close().catch(() => {})
    await rm(tmp, { force: true }).catch(() => {})
    throw error instanceof MomentryError ? error : (fileError(error, 'write', file, hint) ?? error)
  }
}

export interface ImportSummary {
  file: string
  rows: Record<string, number>
  /** True when the target's momentry tables were emptied first (`--replace`). */
  replaced: boolean
}

const badFile = (file: string, why: string) => new UsageError(`${file} is not a whole momentry export (${why}); nothing was imported`, 'Make it again with `momentry db export FILE`')

const headerV1 = z.object({ migrations: z.array(z.string()) })
const headerV2 = headerV1.extend({
  exportedAt: z.string(),
  source: z.enum(['embedded', 'server']),
  tables: z.record(z.string(), z.number().int().nonnegative()),
})
const columnList = z.array(z.string().regex(/^\w+$/)).min(1)

/** Parse a JSON line with a schema; undefined when it is not JSON or not that shape. */
function parseLine<T>(line: string | undefined, schema: z.ZodType<T>): T | undefined {
  try {
    const r = schema.safeParse(JSON.parse(line ?? ''))
    return r.success ? r.data : undefined
  } catch {
    return undefined
  }
}

/**
 * A database error while loading `file` that says something about the file (a value its
 * column refuses, a duplicate, a dangling reference) as one usage line; connection and
 * schema errors are left to the caller's classification (exit 8).
 */
function loadError(error: unknown, file: string, replace: boolean): MomentryError | undefined {
  const e = error as { code?: string; where?: string; table_name?: string; constraint_name?: string }
  if (typeof e?.code !== 'string' || !/^2[23]/.test(e.code)) return undefined
  // "COPY webhooks, line 2, column id: "…"": the place, never the value (it may be a secret).
  const at = /^COPY (\w+), line (\d+)(?:, column (\w+))?/.exec(e.where ?? '')
  const place = at ? `${at[1]} row ${at[2]}${at[3] ? `, column ${at[3]}` : ''}` : [e.table_name, e.constraint_name].filter(Boolean).join(', ')
  const where = place ? ` (${place})` : ''
  if (e.code === '23505') {
    return new UsageError(
      `${file} holds a row this database already has${where}; nothing was imported`,
      replace ? 'The file repeats a row: make it again with `momentry db export FILE`' : 'Import into an empty database, or add --replace to empty this one first',
    )
  }
  if (e.code === '23503') return badFile(file, `a row refers to one it does not hold${where}`)
  return badFile(file, `a value this database refuses${where}, PostgreSQL error ${e.code}`)
}

/**
 * Load an export into this database (migrated first), in one transaction: nothing is
 * loaded unless everything is, and a version 2 file's counts and sum are checked before it
 * commits (a version 1 file, which has neither, must hold every table). A database that
 * already holds momentry data is refused unless `replace` empties it first. Every
 * LISTENing process is told to forget what it cached (FLUSH_ALL) when it commits.
 */
export async function importDatabase(ctx: CoreContext, file: string, options: { replace?: boolean } = {}): Promise<ImportSummary> {
  const replace = Boolean(options.replace)
  const hint = 'Give the path of a file made by `momentry db export`'
  let fh: FileHandle | undefined
  let input: Readable | undefined
  try {
    fh = await open(file, 'r')
    if (!(await fh.stat()).isFile()) throw new UsageError(`${file} is not a file`, hint)
    input = fh.createReadStream({ highWaterMark: 256 * 1024, autoClose: false })
    const reader = new ExportReader(input)
    const magic = await reader.line()
    if (magic !== MAGIC_V1 && magic !== MAGIC_V2) throw badFile(file, /^momentry-export \d+$/.test(magic ?? '') ? `it is ${magic}, which this momentry cannot read` : 'its first line is not the export header')
    const v2 = magic === MAGIC_V2
    const headerLine = await reader.line()
    const header = v2 ? parseLine(headerLine, headerV2) : parseLine(headerLine, headerV1)
    if (!header) throw badFile(file, 'its header is not the JSON an export starts with')
    const counted = v2 ? (header as z.infer<typeof headerV2>).tables : undefined
    const stranger = Object.keys(counted ?? {}).find((t) => !(EXPORT_TABLES as readonly string[]).includes(t))
    if (stranger) throw badFile(file, `it has a table ${stranger} momentry does not know`)
    await migrateDatabase(ctx)
    const known = new Set(await migrationsIn(ctx.sql))
    if (!header.migrations.some((m) => m.startsWith('0009_'))) {
      throw new ConflictError(`${file} was exported before the audit trail was chained (migration 0009), and its audit rows cannot join a chain on import`, 'Import it with the momentry version that made it, run `momentry db migrate` there, and export again')
    }
    const unknown = header.migrations.filter((m) => !known.has(m))
    if (unknown.length) throw new ConflictError(`${file} was made by a newer momentry (migrations ${unknown.join(', ')} are unknown here)`, 'Upgrade this momentry first')
    const rows = await ctx.sql.begin(async (tx) => {
      await tx`set constraints all deferred`
      const held = await heldTables(tx)
      if (held.length && !replace) {
        throw new ConflictError(`this database already holds momentry data (${held.join(', ')}); nothing was imported`, 'Import into an empty database, or add --replace to empty this one first')
      }
      // The file's chain arrives already linked and hashed, with its head: the append and
      // append-only triggers are off for this transaction only (DDL is transactional).
      for (const t of GUARDED) await tx`alter table ${tx(t)} disable trigger user`
      if (replace) await tx`truncate ${tx(EXPORT_TABLES.filter((t) => !SINGLETONS.includes(t)) as unknown as string[])} restart identity cascade`
      for (const t of SINGLETONS) await tx`delete from ${tx(t)}`
      const loaded: Record<string, number> = {}
      for (;;) {
        const line = await reader.line()
        if (line === undefined) {
          if (v2) throw badFile(file, 'it ends before its checksum line')
          break
        }
        if (v2 && line.startsWith(TRAILER)) {
          if (line.slice(TRAILER.length) !== reader.sumBeforeLastLine()) throw badFile(file, 'its checksum does not match its contents')
          if (!(await reader.atEnd())) throw badFile(file, 'something follows its checksum line')
          break
        }
        const m = /^\\table (\w+) (\d+) (\[.*\])$/.exec(line)
        if (!m) throw badFile(file, `unexpected line ${JSON.stringify(line.slice(0, 40))}`)
        const table = m[1] as Table
        if (!EXPORT_TABLES.includes(table)) throw badFile(file, `it has a table ${table} momentry does not know`)
        if (table in loaded) throw badFile(file, `it has ${table} twice`)
        if (counted && counted[table] !== Number(m[2])) throw badFile(file, `${table} has ${m[2]} rows where its header says ${counted[table] ?? 'none'}`)
        const columns = parseLine(m[3], columnList)
        if (!columns) throw badFile(file, `the columns of ${table} are not a JSON list of names`)
        const here = new Set(await columnsOf(tx, table))
        const missing = columns.find((c) => !here.has(c))
        if (missing) throw new ConflictError(`${table}.${missing} in ${file} has no column here`, 'Import with the momentry version that made the export, or a newer one')
        const copy = tx`copy ${tx(table)} (${tx(columns)}) from stdin`
        const refused = serverRefusal(copy)
        await Promise.race([pipeline(reader.rows(table), await copy.writable()), refused])
        if (reader.rowCount !== Number(m[2])) throw badFile(file, `${table} has ${reader.rowCount} rows where its header says ${m[2]}`)
        loaded[table] = reader.rowCount
        // Identity columns continue after the imported ids.
        if (here.has('id') && !SINGLETONS.includes(table)) await tx`select setval(pg_get_serial_sequence(${table}, 'id'), coalesce(max(id), 0) + 1, false) from ${tx(table)}`
      }
      // A version 2 header names every table it holds; a version 1 file always held them all.
      const absent = (counted ? Object.keys(counted) : (EXPORT_TABLES as readonly string[])).filter((t) => !(t in loaded))
      if (absent.length) throw badFile(file, `it lacks ${absent.join(', ')}`)
      for (const t of GUARDED) await tx`alter table ${tx(t)} enable trigger user`
      // Keys and blacklist entries appeared (or went) that LISTENing processes may have cached as unknown.
      await tx`select pg_notify(${PG_CHANNELS.keyChanged}, ${FLUSH_ALL}), pg_notify(${PG_CHANNELS.blacklistChanged}, ${FLUSH_ALL})`
      return loaded
    })
    // An export from before sql/0013 holds webhook secrets in the clear: sealed as they arrive.
    await sealPlainWebhookSecrets(ctx)
    return { file, rows, replaced: replace }
  } catch (error) {
    if (error instanceof MomentryError) throw error
    if (error instanceof ExportFormatError) throw badFile(file, error.message)
    throw fileError(error, 'read', file, hint) ?? loadError(error, file, replace) ?? error
  } finally {
    input?.destroy()
    await fh?.close().catch(() => {})
  }
}

/**
 * Rejects with PostgreSQL's error once the server refuses a `copy … from stdin`. postgres.js
 * (3.4.x) never settles the COPY writable when the refusal comes after the last row was
 * sent (porsager/postgres#1173, PR #1183 open): a pipeline into it would wait forever, with
 * the transaction idle and aborted. It still hands the error to the query's `reject`, which
 * is wrapped here to hear it.
 */
function serverRefusal(copy: object): Promise<never> {
  const q = copy as { reject?: (e: unknown) => void }
  const reject = q.reject
  return new Promise<never>((_, fail) => {
    q.reject = (e) => {
      fail(e)
      reject?.(e)
    }
  })
}

/** The export tables that hold at least one row. */
async function heldTables(q: Queryable): Promise<string[]> {
  const held: string[] = []
  for (const table of EXPORT_TABLES) {
    if (SINGLETONS.includes(table)) continue
    if ((await q`select exists (select 1 from ${q(table)}) as any`)[0]!.any) held.push(table)
  }
  return held
}
