import { once } from 'node:events'
import { createReadStream, createWriteStream } from 'node:fs'
import { rename, rm, stat } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { createInterface } from 'node:readline'

import type { CoreContext } from '../context.js'
import { ConflictError, UsageError } from '../errors.js'
import type { Queryable } from './connect.js'
import { appliedMigrations } from './migrate.js'
import { migrateDatabase } from './migrate-database.js'

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
  'ip_blacklist',
  'webhooks',
  'webhook_deliveries',
  'gitea_tokens',
  'n8n_api_keys',
] as const
type Table = (typeof EXPORT_TABLES)[number]

const MAGIC = 'momentry-export 1'

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

/**
 * Write everything momentry holds to `file` (0600: webhook signing secrets are in it), from
 * one consistent snapshot, as PostgreSQL COPY text per table under a small header. The file
 * appears whole or not at all (written beside it, then renamed).
 */
export async function exportDatabase(ctx: CoreContext, file: string): Promise<ExportSummary> {
  const tmp = `${file}.partial-${process.pid}`
  const dir = await stat(dirname(resolve(file))).catch(() => undefined)
  if (!dir?.isDirectory()) throw new UsageError(`cannot write ${file}: ${dirname(resolve(file))} is not a directory`, 'Give a path in an existing directory')
  const out = createWriteStream(tmp, { mode: 0o600 })
  const write = async (chunk: string | Buffer) => {
    if (!out.write(chunk)) await once(out, 'drain')
  }
  try {
    const summary = await ctx.sql.begin('isolation level repeatable read read only', async (tx) => {
      const migrations = await migrationsIn(tx)
      const source = ctx.config.databaseUrl ? ('server' as const) : ('embedded' as const)
      await write(`${MAGIC}\n${JSON.stringify({ exportedAt: ctx.clock.now().toISOString(), source, migrations })}\n`)
      const rows: Record<string, number> = {}
      for (const table of EXPORT_TABLES) {
        const columns = await columnsOf(tx, table)
        const [{ n }] = (await tx`select count(*)::int as n from ${tx(table)}`) as unknown as [{ n: number }]
        rows[table] = n
        await write(`\\table ${table} ${n} ${JSON.stringify(columns)}\n`)
        const stream = await tx`copy ${tx(table)} (${tx(columns)}) to stdout`.readable()
        for await (const chunk of stream as AsyncIterable<Buffer>) await write(chunk)
        await write('\\.\n')
      }
      return { rows, migrations, source }
    })
    out.end()
    await once(out, 'finish')
    await rename(tmp, file)
    return { file, bytes: (await stat(file)).size, ...summary }
  } catch (error) {
    out.destroy()
    await rm(tmp, { force: true })
    throw error
  }
}

export interface ImportSummary {
  file: string
  rows: Record<string, number>
  /** True when the target's momentry tables were emptied first (`--replace`). */
  replaced: boolean
}

const badFile = (file: string, why: string) => new UsageError(`${file} is not a momentry export (${why})`, 'Make one with `momentry db export FILE`')

/**
 * Load an export into this database (migrated first), in one transaction: nothing is
 * loaded unless everything is. A database that already holds momentry data is refused
 * unless `replace` empties it first.
 */
export async function importDatabase(ctx: CoreContext, file: string, options: { replace?: boolean } = {}): Promise<ImportSummary> {
  const st = await stat(file).catch((e: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read ${file} (${e.code})`, 'Give the path of a file made by `momentry db export`')
  })
  if (!st.isFile()) throw new UsageError(`${file} is not a file`, 'Give the path of a file made by `momentry db export`')
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity })[Symbol.asyncIterator]()
  const next = async () => {
    const r = await lines.next()
    return r.done ? undefined : r.value
  }
  try {
    if ((await next()) !== MAGIC) throw badFile(file, 'its first line is not the export header')
    let header: { migrations?: unknown }
    try {
      header = JSON.parse((await next()) ?? '') as { migrations?: unknown }
    } catch {
      throw badFile(file, 'its header is not JSON')
    }
    if (!Array.isArray(header.migrations)) throw badFile(file, 'its header lists no migrations')
    await migrateDatabase(ctx)
    const known = new Set(await migrationsIn(ctx.sql))
    const unknown = (header.migrations as string[]).filter((m) => !known.has(m))
    if (unknown.length) throw new ConflictError(`${file} was made by a newer momentry (migrations ${unknown.join(', ')} are unknown here)`, 'Upgrade this momentry first')
    const rows = await ctx.sql.begin(async (tx) => {
      await tx`set constraints all deferred`
      const held = await heldTables(tx)
      if (held.length && !options.replace) {
        throw new ConflictError(`this database already holds momentry data (${held.join(', ')}); nothing was imported`, 'Import into an empty database, or add --replace to empty this one first')
      }
      if (options.replace) await tx`truncate ${tx(EXPORT_TABLES as unknown as string[])} restart identity cascade`
      const loaded: Record<string, number> = {}
      for (let line = await next(); line !== undefined; line = await next()) {
        const m = /^\\table (\w+) (\d+) (\[.*\])$/.exec(line)
        if (!m) throw badFile(file, `unexpected line ${JSON.stringify(line.slice(0, 40))}`)
        const table = m[1] as Table
        if (!EXPORT_TABLES.includes(table)) throw badFile(file, `it has a table ${table} momentry does not know`)
        const columns = JSON.parse(m[3]!) as string[]
        const here = new Set(await columnsOf(tx, table))
        const missing = columns.find((c) => !here.has(c))
        if (missing) throw new ConflictError(`${table}.${missing} in ${file} has no column here`, 'Import with the momentry version that made the export, or a newer one')
        const sink = await tx`copy ${tx(table)} (${tx(columns)}) from stdin`.writable()
        let count = 0
        for (let row = await next(); row !== '\\.'; row = await next()) {
          if (row === undefined) throw badFile(file, `it ends inside ${table}`)
          if (!sink.write(`${row}\n`)) await once(sink, 'drain')
          count++
        }
        sink.end()
        await once(sink, 'finish')
        if (count !== Number(m[2])) throw badFile(file, `${table} has ${count} rows where its header says ${m[2]}`)
        loaded[table] = count
        // Identity columns continue after the imported ids.
        if (here.has('id')) await tx`select setval(pg_get_serial_sequence(${table}, 'id'), coalesce(max(id), 0) + 1, false) from ${tx(table)}`
      }
      return loaded
    })
    return { file, rows, replaced: Boolean(options.replace) }
  } finally {
    await lines.return?.()
  }
}

/** The export tables that hold at least one row. */
async function heldTables(q: Queryable): Promise<string[]> {
  const held: string[] = []
  for (const table of EXPORT_TABLES) if ((await q`select exists (select 1 from ${q(table)}) as any`)[0]!.any) held.push(table)
  return held
}
