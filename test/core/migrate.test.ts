import { createHash, randomBytes } from 'node:crypto'
import { readdirSync } from 'node:fs'
import { appendFile, cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { expect } from 'chai'

import type { Sql } from '../../src/core/db/connect.js'
import { connectPostgres } from '../../src/core/db/connect.js'
import { ensureDatabase, migrate, migrationStatus, migrationsDir, readMigrations } from '../../src/core/db/migrate.js'
import { ConfigError, MomentryError } from '../../src/core/errors.js'
import { testDatabaseUrl } from '../helpers/db.js'

function urlFor(database: string): string {
  const url = new URL(testDatabaseUrl())
  url.pathname = `/${database}`
  return url.toString()
}

const scratchName = () => `momentry_test_mig_${randomBytes(5).toString('hex')}`

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  return expect.fail('expected a rejection')
}

/** Migrations this test adds to a copy of sql/, numbered right after what the package ships (gaps are refused). */
const NEXT = readdirSync(migrationsDir()).filter((n) => /^\d{4}_[a-z0-9_]+\.sql$/.test(n)).length + 1
const EXTRA = `${String(NEXT).padStart(4, '0')}_extra.sql`
const BROKEN = `${String(NEXT).padStart(4, '0')}_broken.sql`

describe('migrations', () => {
  /** The package's own migrations (0001_init.sql first), listed independently of readMigrations. */
  let shipped: string[]
  let admin: Sql
  /** Databases to drop after each test (the scratch one plus any ensureDatabase made). */
  let databases: string[]
  /** Pools to close before dropping. */
  let pools: Sql[]
  let dirs: string[]
  let dbName: string
  let sql: Sql

  const open = (database = dbName): Sql => {
    const pool = connectPostgres(urlFor(database), { max: 2 })
    pools.push(pool)
    return pool
  }

  /** A private copy of sql/ that a test may edit. */
  const copyMigrations = async (prefix = 'momentry-mig-'): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), prefix))
    dirs.push(dir)
    await cp(migrationsDir(), dir, { recursive: true })
    return dir
  }

  const idOf = (name: string) => Number(name.slice(0, 4))

  before(async () => {
    admin = connectPostgres(urlFor('postgres'), { max: 1 })
    shipped = (await readdir(migrationsDir())).filter((n) => /^\d{4}_[a-z0-9_]+\.sql$/.test(n)).sort()
    expect(shipped[0]).to.equal('0001_init.sql')
  })

  after(async () => {
    await admin.end()
  })

  beforeEach(async () => {
    databases = []
    pools = []
    dirs = []
    dbName = scratchName()
    await admin`create database ${admin(dbName)}`
    databases.push(dbName)
    sql = open()
  })

  afterEach(async () => {
    await Promise.all(pools.map((p) => p.end({ timeout: 1 })))
    for (const name of databases) await admin`drop database if exists ${admin(name)} with (force)`
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
  })

  describe('migrate', () => {
    it('given a fresh database, when migrated, then every file of sql/ (0001_init.sql first) is applied and recorded with id, name and sha-256 checksum', async () => {
      const result = await migrate(sql)
      expect(result.applied).to.deep.equal(shipped)
      const expected = await Promise.all(
        shipped.map(async (name) => ({
          id: idOf(name),
          name,
          checksum: createHash('sha256').update(await readFile(join(migrationsDir(), name), 'utf8')).digest('hex'),
        })),
      )
      const rows = await sql`select id, name, checksum, applied_at from schema_migrations order by id`
      expect(rows.map((r) => ({ id: r.id, name: r.name, checksum: r.checksum }))).to.deep.equal(expected)
      for (const row of rows) expect(row.applied_at).to.be.instanceOf(Date)
    })

    it('given a fresh database, when migrated, then the tables of 0001 exist', async () => {
      await migrate(sql)
      const tables = await sql`
        select table_name from information_schema.tables where table_schema = 'public' order by table_name`
      expect(tables.map((t) => t.table_name)).to.include.members([
        'api_keys',
        'api_key_audit_log',
        'api_key_anomalies',
        'gitea_tokens',
        'n8n_api_keys',
        'schema_migrations',
      ])
    })

    it('given a fresh database, when migrated, then the returned state lists every file as applied', async () => {
      const { current } = await migrate(sql)
      expect(current.map((s) => [s.id, s.name, s.state])).to.deep.equal(shipped.map((name) => [idOf(name), name, 'applied']))
      for (const state of current) expect(state.appliedAt).to.match(/^\d{4}-\d{2}-\d{2}T/)
    })

    it('given a migrated database, when migrated again, then nothing is applied and the records are unchanged', async () => {
      await migrate(sql)
      const before = await sql`select id, name, checksum, applied_at from schema_migrations order by id`
      const again = await migrate(sql)
      expect(again.applied).to.deep.equal([])
      const after = await sql`select id, name, checksum, applied_at from schema_migrations order by id`
      expect(after).to.have.length(shipped.length)
      expect(after).to.deep.equal(before)
    })

    it('given two migrate() calls on separate pools at the same time, when both finish, then both succeed and each migration is applied once', async () => {
      const a = open()
      const b = open()
      await Promise.all([a`select 1`, b`select 1`]) // both connected, so the two transactions really overlap
      const results = await Promise.allSettled([migrate(a), migrate(b)])
      expect(results.map((r) => r.status)).to.deep.equal(['fulfilled', 'fulfilled'])
      const applied = results.flatMap((r) => (r.status === 'fulfilled' ? r.value.applied : []))
      expect(applied).to.deep.equal(shipped)
      const rows = await sql`select name from schema_migrations order by id`
      expect(rows.map((r) => r.name)).to.deep.equal(shipped)
    })

    it('given five concurrent migrate() calls, when all finish, then all succeed and exactly one applied the files', async () => {
      const results = await Promise.allSettled(Array.from({ length: 5 }, () => migrate(open())))
      expect(results.every((r) => r.status === 'fulfilled')).to.equal(true)
      const applied = results.flatMap((r) => (r.status === 'fulfilled' ? r.value.applied : []))
      expect(applied).to.deep.equal(shipped)
    })

    it('given an applied migration whose file was then edited, when migrating again, then it is refused with a ConfigError (exit 8) naming the file', async () => {
      const dir = await copyMigrations()
      await migrate(sql, dir)
      await appendFile(join(dir, '0001_init.sql'), '\n-- an innocent-looking edit\n')
      const error = await rejectionOf(migrate(sql, dir))
      expect(error).to.be.instanceOf(ConfigError)
      expect((error as ConfigError).exitCode).to.equal(8)
      expect((error as ConfigError).reason).to.include('0001_init.sql').and.include('changed')
    })

    it('given an edited applied file and a new pending file, when migrating, then nothing is applied (the drift check comes first)', async () => {
      const dir = await copyMigrations()
      await migrate(sql, dir)
      await appendFile(join(dir, '0001_init.sql'), '\n-- edit\n')
      await writeFile(join(dir, EXTRA), 'create table extra_after_drift (id int);\n')
      await rejectionOf(migrate(sql, dir))
      const [table] = await sql`select to_regclass('extra_after_drift') is not null as ok`
      expect(table!.ok).to.equal(false)
      const names = await sql`select name from schema_migrations order by id`
      expect(names.map((r) => r.name)).to.deep.equal(shipped)
    })

    it('given a new numbered file after the applied ones, when migrating, then only the new file is applied and recorded', async () => {
      const dir = await copyMigrations()
      await migrate(sql, dir)
      await writeFile(join(dir, EXTRA), 'create table extra (id int primary key);\n')
      const result = await migrate(sql, dir)
      expect(result.applied).to.deep.equal([EXTRA])
      const rows = await sql`select id, name from schema_migrations order by id`
      expect(rows.map((r) => [r.id, r.name])).to.deep.equal([...shipped, EXTRA].map((name) => [idOf(name), name]))
      const [table] = await sql`select to_regclass('extra') is not null as ok`
      expect(table!.ok).to.equal(true)
    })

    it('given a pending file with broken SQL after good ones, when migrating, then everything rolls back and nothing is recorded', async () => {
      const dir = await copyMigrations()
      await writeFile(join(dir, BROKEN), 'create table half_done (id int);\nthis is not sql;\n')
      const error = await rejectionOf(migrate(sql, dir))
      expect(error).to.be.an('error')
      const [state] = await sql`
        select to_regclass('schema_migrations') is not null as migrations,
               to_regclass('api_keys') is not null as api_keys,
               to_regclass('half_done') is not null as half_done`
      expect(state).to.deep.equal({ migrations: false, api_keys: false, half_done: false })
    })

    it('given files that are not numbered migrations, when reading the directory, then they are ignored', async () => {
      const dir = await copyMigrations()
      await writeFile(join(dir, 'README.md'), '# notes\n')
      await writeFile(join(dir, '1_short.sql'), 'select 1;\n')
      await writeFile(join(dir, '9003_Upper.sql'), 'select 1;\n')
      const files = await readMigrations(dir)
      expect(files.map((f) => f.name)).to.deep.equal(shipped)
    })

    it('given a gap in the numbers, when reading or migrating, then exit 8 names the missing number and nothing is applied', async () => {
      const dir = await copyMigrations()
      const gap = `${String(NEXT + 1).padStart(4, '0')}_after_gap.sql`
      await writeFile(join(dir, gap), 'create table after_gap (id int);\n')
      const error = (await rejectionOf(migrate(sql, dir))) as ConfigError
      expect(error.exitCode).to.equal(8)
      expect(error.reason).to.include(`migration ${String(NEXT).padStart(4, '0')} is missing`).and.include(gap)
      const [state] = await sql`select to_regclass('schema_migrations') is not null as migrations, to_regclass('after_gap') is not null as after_gap`
      expect(state).to.deep.equal({ migrations: false, after_gap: false })
    })

    it('given two files with the same number, when reading, then exit 8 names both', async () => {
      const dir = await copyMigrations()
      await writeFile(join(dir, EXTRA), 'select 1;\n')
      await writeFile(join(dir, BROKEN), 'select 1;\n')
      const error = (await rejectionOf(readMigrations(dir))) as ConfigError
      expect(error.exitCode).to.equal(8)
      expect(error.reason).to.include(`two migrations are numbered ${String(NEXT).padStart(4, '0')}`).and.include(EXTRA).and.include(BROKEN)
    })

    it('given a migrations directory whose path contains "#", when migrating from it, then its files are found and applied', async () => {
      const dir = await copyMigrations('momentry-mig-c#-')
      const result = await migrate(sql, dir)
      expect(result.applied).to.deep.equal(shipped)
    })

    it('given a migrations directory whose path contains "%41", when reading it, then the files of that exact directory are read', async () => {
      const dir = await copyMigrations('momentry-mig-100%41-')
      const files = await readMigrations(dir)
      expect(files.map((f) => f.name)).to.deep.equal(shipped)
    })
  })

  describe('migrationStatus', () => {
    it('given a fresh database without schema_migrations, when asked, then every file is pending with no appliedAt', async () => {
      const states = await migrationStatus(sql)
      expect(states).to.deep.equal(shipped.map((name) => ({ id: idOf(name), name, state: 'pending', appliedAt: null })))
      const [table] = await sql`select to_regclass('schema_migrations') is not null as ok`
      expect(table!.ok, 'status must not create tables').to.equal(false)
    })

    it('given a migrated database, when asked, then every file is applied with its time', async () => {
      await migrate(sql)
      const rows = await sql`select id, name, applied_at from schema_migrations order by id`
      const states = await migrationStatus(sql)
      expect(states).to.deep.equal(rows.map((r) => ({ id: r.id, name: r.name, state: 'applied', appliedAt: r.applied_at.toISOString() })))
      expect(states.map((s) => s.name)).to.deep.equal(shipped)
    })

    it('given an applied file that was edited and a new file, when asked, then they are reported as changed and pending', async () => {
      const dir = await copyMigrations()
      await migrate(sql, dir)
      await appendFile(join(dir, '0001_init.sql'), '\n-- edit\n')
      await writeFile(join(dir, EXTRA), 'select 1;\n')
      const states = await migrationStatus(sql, dir)
      expect(states.map((s) => [s.name, s.state])).to.deep.equal([
        ['0001_init.sql', 'changed'],
        ...shipped.slice(1).map((name) => [name, 'applied']),
        [EXTRA, 'pending'],
      ])
    })

    it('given a recorded migration whose file is gone, when asked, then it is reported as missing and migrate refuses', async () => {
      const dir = await copyMigrations()
      await writeFile(join(dir, EXTRA), 'select 1;\n')
      await migrate(sql, dir)
      await rm(join(dir, EXTRA))
      const states = await migrationStatus(sql, dir)
      expect(states.map((s) => [s.name, s.state])).to.deep.equal([...shipped.map((name) => [name, 'applied']), [EXTRA, 'missing']])
      const error = await rejectionOf(migrate(sql, dir))
      expect(error).to.be.instanceOf(ConfigError)
      expect((error as ConfigError).reason).to.include(EXTRA)
    })
  })

  describe('ensureDatabase', () => {
    it('given a database name that does not exist, when ensured, then it is created and the call returns true', async () => {
      const name = scratchName()
      databases.push(name)
      expect(await ensureDatabase(urlFor(name))).to.equal(true)
      const rows = await admin`select datname from pg_database where datname = ${name}`
      expect(rows).to.have.length(1)
    })

    it('given a database that exists, when ensured, then it returns false', async () => {
      expect(await ensureDatabase(urlFor(dbName))).to.equal(false)
    })

    it('given a database just created by ensureDatabase, when ensured again, then it returns false', async () => {
      const name = scratchName()
      databases.push(name)
      await ensureDatabase(urlFor(name))
      expect(await ensureDatabase(urlFor(name))).to.equal(false)
    })

    it('given a server that is not listening, when ensured, then it fails with a typed connection error (exit 8)', async () => {
      const error = await rejectionOf(ensureDatabase('postgres://postgres@127.0.0.1:1/momentry_nowhere'))
      expect(error).to.be.instanceOf(MomentryError)
      expect((error as MomentryError).exitCode).to.equal(8)
      expect((error as MomentryError).code).to.equal('CONNECTION_ERROR')
    })
  })
})
