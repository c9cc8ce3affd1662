// Embedded mode when things are left behind or happen at once: pid files of dead processes
// whose pids the system gave to others, the idle watchdog racing clients and itself, first
// runs cut short, and what the programs momentry starts are given. Each test has its own
// MOMENTRY_DATA_DIR (a copy of one initialised once, or fresh); every process running from
// it is ended afterwards.
import type { ChildProcess } from 'node:child_process'
import { execFileSync, spawn } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { expect } from 'chai'
import postgres from 'postgres'

import { toMomentryError } from '../../src/cli/errors.js'
import { databaseLabel } from '../../src/core/db/connect.js'
import { connectEmbedded } from '../../src/core/embedded/connect-embedded.js'
import { stopEmbeddedServer } from '../../src/core/embedded/embedded-server.js'
import { ensureIdleWatch } from '../../src/core/embedded/idle-watch-process.js'
import { embeddedConnection, embeddedPaths } from '../../src/core/embedded/paths.js'
import { ConnectionError } from '../../src/core/errors.js'
import { silentLogger } from '../../src/core/log.js'
import { packageRoot } from '../../src/core/package-root.js'
import { runJson, spawnCli } from '../helpers/cli.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
/** Wait until `ok()` holds (checked every 20 ms), or fail after `ms`. */
async function until(ok: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  for (const deadline = Date.now() + ms; !(await ok()); await sleep(20)) if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
}
const cmdline = async (pid: number) => (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0')
/** The live processes whose arguments name this data directory: its postgres (and backends' parent) and watchdogs. */
async function processesOf(dataDir: string): Promise<{ pid: number; argv: string[] }[]> {
  const found: { pid: number; argv: string[] }[] = []
  for (const name of await readdir('/proc')) {
    const pid = Number(name)
    if (!pid) continue
    const argv = await cmdline(pid)
    if (argv.some((a) => a === dataDir || a.startsWith(`${dataDir}/`))) found.push({ pid, argv })
  }
  return found
}
const watchdogsOf = async (dataDir: string) => (await processesOf(dataDir)).filter((p) => p.argv.some((a) => /embedded-watchdog\.[jt]s$/.test(a)))
const postmasterPid = async (dataDir: string) => Number((await readFile(join(dataDir, 'pg', 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0]) || undefined

/** End every process of a test's data directory (no clean shutdown: it is thrown away). */
async function hardStop(dataDir: string): Promise<void> {
  for (const { pid } of await processesOf(dataDir)) if (alive(pid)) process.kill(pid, 'SIGKILL')
  await rm(dataDir, { recursive: true, force: true })
}

describe('embedded mode safety (stale pid files, the idle watchdog, first runs cut short)', function () {
  this.timeout(120_000)
  let template: string
  let dataDir: string
  let env: Record<string, string>
  const children: ChildProcess[] = []
  const base = (dir: string) => ({ DATABASE_URL: '', REDIS_URL: '', MOMENTRY_DATA_DIR: dir })
  const cli = (args: string[], extra: Record<string, string> = {}) => runJson(args, { env: { ...env, ...extra } })
  /** A live process that is not momentry's: what a reused pid points at. */
  const stranger = () => {
    const child = spawn('sleep', ['300'], { stdio: 'ignore' })
    children.push(child)
    return child.pid!
  }

  before(async () => {
    template = await mkdtemp(join(tmpdir(), 'mtry-embs-template-'))
    expect((await runJson(['db', 'start'], { env: base(template) })).code).to.equal(0)
    expect((await runJson(['db', 'stop'], { env: base(template) })).json).to.include({ stopped: true })
  })
  after(() => hardStop(template))

  const useDataDir = async (kind: 'fresh' | 'initialised') => {
    dataDir = await mkdtemp(join(tmpdir(), 'mtry-embs-'))
    if (kind === 'initialised') execFileSync('cp', ['-a', `${template}/.`, dataDir])
    env = base(dataDir)
  }
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
    await hardStop(dataDir)
  })

  it('given a postmaster.pid left by a kill -9 whose pid now belongs to another process, then status says stopped, db stop signals nothing, and the next command starts the server', async () => {
    await useDataDir('initialised')
    const other = stranger()
    await writeFile(join(dataDir, 'pg', 'postmaster.pid'), `${other}\n${join(dataDir, 'pg')}\n1700000000\n5432\n${join(dataDir, 'pg')}\n\n  5432001  0\nready   \n`)
    await writeFile(join(dataDir, 'pg', '.s.PGSQL.5432.lock'), `${other}\n${join(dataDir, 'pg')}\n1700000000\n5432\n`)
    expect((await cli(['db', 'status'])).json.embedded).to.include({ state: 'stopped', pid: null })
    expect((await cli(['db', 'stop'])).json).to.include({ stopped: false })
    expect(alive(other), 'db stop left the other process alone').to.equal(true)
    const created = await cli(['api-key', 'create', '--name', 'after-stale', '--type', 'service'])
    expect(created.code, created.stderr).to.equal(0)
    const pid = await postmasterPid(dataDir)
    expect(pid).to.be.a('number').and.not.equal(other)
    expect((await cmdline(pid!))[0]).to.match(/postgres$/)
    expect(alive(other)).to.equal(true)
  })

  it('given a pg.lock and a pg-idle.pid of dead processes whose pids were reused, then a command neither waits for the lock nor takes the other process for the watchdog', async () => {
    await useDataDir('initialised')
    const [lockPid, idlePid] = [stranger(), stranger()]
    await writeFile(join(dataDir, 'pg.lock'), String(lockPid)) // as an older momentry wrote it: the pid alone
    await writeFile(join(dataDir, 'pg-idle.pid'), String(idlePid))
    const started = Date.now()
    const r = await cli(['api-key', 'create', '--name', 'no-wait', '--type', 'service'])
    expect(r.code, r.stderr).to.equal(0)
    expect(Date.now() - started, 'took the stale lock over instead of waiting 120 s').to.be.below(20_000)
    await until(async () => (await watchdogsOf(dataDir)).length === 1, 'a watchdog of its own')
    const recorded = Number(await readFile(join(dataDir, 'pg-idle.pid'), 'utf8'))
    expect(recorded).to.equal((await watchdogsOf(dataDir))[0]!.pid)
    expect((await cli(['db', 'stop'])).json).to.include({ stopped: true })
    expect(alive(lockPid) && alive(idlePid), 'neither stranger was signalled').to.equal(true)
  })

  it('given many processes making sure of the watchdog at once, then exactly one runs, and one started besides it leaves at once', async () => {
    await useDataDir('initialised')
    expect((await cli(['db', 'start'])).code).to.equal(0)
    await until(async () => (await watchdogsOf(dataDir)).length === 1, 'the first watchdog')
    const [first] = await watchdogsOf(dataDir)
    process.kill(first!.pid, 'SIGKILL') // gone: everyone arriving now wants to start one
    await until(() => !alive(first!.pid), 'the watchdog to die')
    const p = embeddedPaths(dataDir)
    const runs = await Promise.all([
      ...Array.from({ length: 4 }, () => spawnCli(['api-key', 'list', '--json'], { env })),
      ...Array.from({ length: 4 }, () => ensureIdleWatch(p, 600).then(() => ({ code: 0, stderr: '' }))),
    ])
    expect(runs.map((r) => r.code), runs.map((r) => r.stderr).join('\n')).to.deep.equal(Array(8).fill(0))
    // Every spawn has happened by now (each under the lock, before its caller returned).
    expect(await watchdogsOf(dataDir)).to.have.length(1)

    const extra = spawn(process.execPath, [join(packageRoot(), 'dist', 'embedded-watchdog.js'), dataDir, '600000'], { stdio: 'ignore' })
    children.push(extra)
    const code = await new Promise<number | null>((resolve) => extra.once('exit', resolve))
    expect(code, 'a watchdog not recorded in pg-idle.pid leaves').to.equal(0)
    expect(await watchdogsOf(dataDir)).to.have.length(1)
  })

  it('given a query running when the server is stopped, then it fails as a connection error (exit 8) saying to run again, db stop names the session, and the same pool starts the server again', async () => {
    await useDataDir('initialised')
    const config = { dataDir, embeddedIdleSeconds: 600 }
    const sql = connectEmbedded(config, silentLogger, { max: 1 })
    try {
      await sql`select 1`
      const running = sql`select pg_sleep(30)`.then(() => undefined, (e: unknown) => e)
      const admin = postgres({ ...embeddedConnection(embeddedPaths(dataDir), { database: 'postgres', applicationName: 'test-admin' }) })
      await until(async () => (await admin`select 1 from pg_stat_activity where query like 'select pg_sleep%' and state = 'active'`).length === 1, 'the query to run')
      await admin.end()
      const stopped = await stopEmbeddedServer(config)
      expect(stopped.stopped).to.equal(true)
      expect(stopped.clients.map((c) => c.applicationName)).to.include(`momentry/${process.pid}`)
      expect(stopped.clients.find((c) => c.applicationName === `momentry/${process.pid}`)).to.include({ pid: process.pid })
      const raw = await running
      const e = toMomentryError(raw, 'api-key:list', databaseLabel({ dataDir }))
      expect(e).to.be.instanceOf(ConnectionError)
      expect(e.exitCode).to.equal(8)
      expect(e.line).to.match(/stopped while this command was using it \((57P01|CONNECTION_CLOSED)\).*Run the command again.*momentry db start/)
      // postgres.js may hand the terminated session's late 57P01 to the next query on that
      // connection: if so, it too is the connection error, and the query after it runs.
      const next = await sql`select 2 as n`.then((rows) => rows[0], (error: unknown) => toMomentryError(error, 'api-key:list', databaseLabel({ dataDir })))
      if (next instanceof Error) expect(next).to.be.instanceOf(ConnectionError)
      else expect(next).to.deep.equal({ n: 2 })
      expect((await sql`select 3 as n`)[0]).to.deep.equal({ n: 3 })
      expect(await postmasterPid(dataDir), 'started again').to.be.a('number')
    } finally {
      await sql.end({ timeout: 1 })
    }
  })

  it('given the server shutting down (a smart shutdown waiting for a session), then status says stopping, and a command waits for it to go and starts it again', async () => {
    await useDataDir('initialised')
    expect((await cli(['db', 'start'])).code).to.equal(0)
    const old = (await postmasterPid(dataDir))!
    const holder = postgres({ ...embeddedConnection(embeddedPaths(dataDir), { database: 'postgres', applicationName: 'psql-holder' }) })
    try {
      await holder`select 1`
      process.kill(old, 'SIGTERM') // smart shutdown: no new sessions, waits for this one
      const statusLine = async () => (await readFile(join(dataDir, 'pg', 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[7]?.trim()
      await until(async () => (await statusLine()) === 'stopping', 'the server to be stopping')
      expect((await cli(['db', 'status'])).json.embedded).to.include({ state: 'stopping', pid: old })
      const run = spawnCli(['api-key', 'list', '--json'], { env })
      await until(async () => (await readFile(join(dataDir, 'pg.lock'), 'utf8').catch(() => '')) !== '', 'the command to wait under the lock')
      await holder.end({ timeout: 1 })
      const r = await run
      expect(r.code, r.stdout + r.stderr).to.equal(0)
      expect(await postmasterPid(dataDir)).to.be.a('number').and.not.equal(old)
    } finally {
      await holder.end({ timeout: 1 }).catch(() => {})
    }
  })

  it('given a client connected to the server, then db stop lists it (--json clients) and warns that it may start it again', async () => {
    await useDataDir('initialised')
    expect((await cli(['db', 'start'])).code).to.equal(0)
    const holder = postgres({ ...embeddedConnection(embeddedPaths(dataDir), { database: 'postgres', applicationName: 'psql-holder' }) })
    try {
      const backend = (await holder<{ pid: number }[]>`select pg_backend_pid() as pid`)[0]!.pid
      const r = await cli(['db', 'stop'])
      expect(r.json).to.include({ stopped: true })
      expect(r.json.clients).to.deep.equal([{ applicationName: 'psql-holder', pid: null, backendPid: backend }])
      expect(r.stderr).to.match(new RegExp(`warn: 1 client was \\(psql-holder \\(backend pid ${backend}\\)\\) connected .*starts it again`))
    } finally {
      await holder.end({ timeout: 1 }).catch(() => {})
    }
  })

  it('given a first run cut short (initdb’s directory left aside, a pg/ without a cluster), then the next command clears them and initialises once', async () => {
    await useDataDir('fresh')
    await mkdir(join(dataDir, 'pg.init-424242', 'base'), { recursive: true })
    await mkdir(join(dataDir, 'pg'))
    await writeFile(join(dataDir, 'pg', 'PG_VERSION'), '18\n')
    const r = await cli(['api-key', 'create', '--name', 'second-try', '--type', 'service'])
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stderr.match(/first run: creating the embedded PostgreSQL/g) ?? []).to.have.length(1)
    expect((await readdir(dataDir)).filter((n) => n.startsWith('pg.init-'))).to.deep.equal([])
    expect((await cli(['api-key', 'list'])).json.items).to.have.length(1)
  })

  it('given a server killed before its momentry database was made, then the next start makes it', async () => {
    await useDataDir('initialised')
    expect((await cli(['db', 'start'])).code).to.equal(0)
    const admin = postgres({ ...embeddedConnection(embeddedPaths(dataDir), { database: 'postgres' }) })
    await admin`drop database momentry with (force)`
    await admin.end()
    process.kill((await postmasterPid(dataDir))!, 'SIGKILL')
    for (const marker of ['momentry-ready', 'momentry-migrations']) await unlink(join(dataDir, 'pg', marker))
    const r = await cli(['api-key', 'create', '--name', 'made-again', '--type', 'service'])
    expect(r.code, r.stderr).to.equal(0)
    expect((await cli(['api-key', 'list'])).json.items).to.have.length(1)
  })

  it('given secrets in the environment, then the server and the watchdog momentry starts do not get them', async () => {
    await useDataDir('initialised')
    const r = await spawnCli(['api-key', 'list', '--json'], { env: { ...env, MOMENTRY_TEST_TOKEN: 'leak-me-7f3a', GITEA_PASSWORD: 'leak-me-7f3a' } })
    expect(r.code, r.stderr).to.equal(0)
    await until(async () => (await watchdogsOf(dataDir)).length === 1, 'the watchdog')
    const pids = [(await postmasterPid(dataDir))!, (await watchdogsOf(dataDir))[0]!.pid]
    for (const pid of pids) {
      const environ = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0')
      expect(environ.join('\n')).not.to.include('leak-me-7f3a')
      expect(environ.some((v) => v.startsWith('PATH='))).to.equal(true)
    }
  })

  it('given a stopped server, db status starts nothing; given a running one with a migration not applied, it says so and applies nothing', async () => {
    await useDataDir('initialised')
    const stopped = await cli(['db', 'status'])
    expect(stopped.json).to.deep.include({ mode: 'embedded', migrations: null, current: null })
    expect(stopped.json.embedded.state).to.equal('stopped')
    expect(await postmasterPid(dataDir)).to.equal(undefined)

    expect((await cli(['db', 'start'])).code).to.equal(0)
    const db = postgres({ ...embeddedConnection(embeddedPaths(dataDir)) })
    try {
      const id = (await db<{ id: number }[]>`delete from schema_migrations where id = (select max(id) from schema_migrations) returning id`)[0]!.id
      await unlink(join(dataDir, 'pg', 'momentry-migrations')) // as if this momentry were newer: a connection would migrate
      const status = await cli(['db', 'status'])
      expect(status.json.current).to.equal(false)
      expect(status.json.migrations.find((m: any) => m.id === id)).to.include({ state: 'pending' })
      expect(await db`select 1 from schema_migrations where id = ${id}`).to.have.length(0)
    } finally {
      await db.end({ timeout: 1 })
    }
  })

  it('given a MOMENTRY_DATA_DIR whose socket path fits in characters but not in bytes, then it is refused (exit 8) and nothing is made', async () => {
    await useDataDir('fresh')
    const long = join(dataDir, 'é'.repeat(Math.ceil((103 - (dataDir.length + 18)) / 2) + 2))
    expect(join(long, 'pg', '.s.PGSQL.5432').length).to.be.at.most(103)
    const r = await cli(['api-key', 'list'], { MOMENTRY_DATA_DIR: long })
    expect(r.code).to.equal(8)
    expect(r.json.error.message).to.match(/too long for the embedded server's socket \(\d+ bytes; at most 103\)/)
  })
})
