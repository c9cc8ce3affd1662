import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'

import { ConfigError } from '../errors.js'
import { packageRoot } from '../package-root.js'
import type { Queryable, Sql } from './connect.js'
import { redactUrl } from '../config.js'
import { classifyPostgresError, connectPostgres, databaseName } from './connect.js'

/** `sql/` at the package root. */
export function migrationsDir(): string {
  return join(packageRoot(), 'sql')
}

/** Any stable 64-bit number; every momentry process agrees on it. */
const MIGRATION_LOCK = 0x6d6f6d656e747279n // "momentry"

export interface MigrationFile {
  id: number
  name: string
  checksum: string
  sql: string
}

export interface MigrationState {
  id: number
  name: string
  state: 'applied' | 'pending' | 'changed' | 'missing'
  appliedAt: string | null
}

const MIGRATION_NAME = /^\d{4}_[a-z0-9_]+\.sql$/

/**
 * The numbered files must run 0001, 0002, … with no number missing or used twice (as
 * postgres-shift insists): a gap or a duplicate is a merge gone wrong, and applying around it
 * would leave databases that disagree about what they contain.
 */
function assertSequence(names: string[]): void {
  for (let i = 0; i < names.length; i++) {
    const id = Number(names[i]!.slice(0, 4))
    if (i > 0 && id === Number(names[i - 1]!.slice(0, 4))) throw new ConfigError(`two migrations are numbered ${names[i]!.slice(0, 4)}: ${names[i - 1]} and ${names[i]}`, 'Give the newer one the next free number')
    if (id !== i + 1) throw new ConfigError(`migration ${String(i + 1).padStart(4, '0')} is missing: after ${names[i - 1] ?? 'the start'} comes ${names[i]}`, 'Restore it, or renumber the files after the gap')
  }
}

/**
 * The names of the numbered migrations in `dir`, in order (no file is read); other files
 * (notes, a stray `1_x.sql`) are not migrations and are ignored.
 */
export async function migrationNames(dir = migrationsDir()): Promise<string[]> {
  return (await readdir(dir)).filter((n) => MIGRATION_NAME.test(n)).sort()
}

/** The numbered migrations in `dir`, in order, with their text and checksum. */
export async function readMigrations(dir = migrationsDir()): Promise<MigrationFile[]> {
  const names = await migrationNames(dir)
  assertSequence(names)
  return Promise.all(
    names.map(async (name) => {
      const text = await readFile(join(dir, name), 'utf8')
      return { id: Number(name.slice(0, 4)), name, checksum: createHash('sha256').update(text).digest('hex'), sql: text }
    }),
  )
}

const CREATE_TABLE = `
  create table if not exists schema_migrations (
    id integer primary key,
    name text not null,
    checksum text not null,
    applied_at timestamptz not null default now()
  )`

export interface AppliedRow {
  id: number
  name: string
  checksum: string
  applied_at: Date
}

/** The migrations recorded in this database, in order (none before the first `migrate`). */
export async function appliedMigrations(sql: Queryable): Promise<AppliedRow[]> {
  const [exists] = await sql`select to_regclass('schema_migrations') is not null as ok`
  if (!exists?.ok) return []
  return sql<AppliedRow[]>`select id, name, checksum, applied_at from schema_migrations order by id`
}

function compare(files: MigrationFile[], applied: AppliedRow[]): MigrationState[] {
  const byId = new Map(applied.map((a) => [a.id, a]))
  const states: MigrationState[] = files.map((f) => {
    const row = byId.get(f.id)
    byId.delete(f.id)
    if (!row) return { id: f.id, name: f.name, state: 'pending', appliedAt: null }
    const state = row.checksum === f.checksum && row.name === f.name ? 'applied' : 'changed'
    return { id: f.id, name: f.name, state, appliedAt: row.applied_at.toISOString() }
  })
  for (const row of byId.values()) {
    states.push({ id: row.id, name: row.name, state: 'missing', appliedAt: row.applied_at.toISOString() })
  }
  return states.sort((a, b) => a.id - b.id)
}

function refuseDrift(states: MigrationState[]): void {
  const changed = states.find((s) => s.state === 'changed')
  if (changed) {
    throw new ConfigError(
      `migration ${changed.name} was changed after it was applied (checksum differs)`,
      'Restore the original file and put the change in a new numbered migration',
    )
  }
  const missing = states.find((s) => s.state === 'missing')
  if (missing) {
    throw new ConfigError(
      `the database has migration ${missing.name}, which this momentry does not know`,
      'Upgrade momentry to the version that wrote this database',
    )
  }
}

export async function migrationStatus(sql: Sql, dir = migrationsDir()): Promise<MigrationState[]> {
  return compare(await readMigrations(dir), await appliedMigrations(sql))
}

export interface MigrateResult {
  applied: string[]
  current: MigrationState[]
  createdDatabase: boolean
}

/**
 * Apply pending migrations in one transaction under an advisory lock, so concurrent
 * callers serialise and the second finds nothing to do. Already-applied files are
 * checked against their recorded checksum first.
 */
export async function migrate(sql: Sql, dir = migrationsDir()): Promise<Omit<MigrateResult, 'createdDatabase'>> {
  const files = await readMigrations(dir)
  const applied = await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK.toString()}::bigint)`
    await tx.unsafe(CREATE_TABLE)
    const states = compare(files, await appliedMigrations(tx))
    refuseDrift(states)
    const done: string[] = []
    for (const file of files) {
      if (states.find((s) => s.id === file.id)?.state !== 'pending') continue
      await tx.unsafe(file.sql)
      await tx`insert into schema_migrations (id, name, checksum) values (${file.id}, ${file.name}, ${file.checksum})`
      done.push(file.name)
    }
    return done
  })
  return { applied, current: await migrationStatus(sql, dir) }
}

/**
 * Create the database named in `url` if it does not exist yet (connecting to the
 * server's `postgres` database to do so). Returns whether it created it.
 */
export async function ensureDatabase(url: string): Promise<boolean> {
  const probe = connectPostgres(url, { max: 1 })
  try {
    await probe`select 1`
    return false
  } catch (error) {
    if ((error as { code?: string }).code !== '3D000') throw classifyPostgresError(error, redactUrl(url)) ?? error
  } finally {
    await probe.end({ timeout: 1 })
  }
  const adminUrl = new URL(url)
  adminUrl.pathname = '/postgres'
  const admin = connectPostgres(adminUrl.toString(), { max: 1 })
  try {
    await admin`create database ${admin(databaseName(url))}`
    return true
  } catch (error) {
    if ((error as { code?: string }).code === '42P04') return false // created by a concurrent run
    throw classifyPostgresError(error, redactUrl(url)) ?? error
  } finally {
    await admin.end({ timeout: 1 })
  }
}
