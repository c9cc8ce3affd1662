// Private PostgreSQL and Redis servers for the fault tests: each started by the test itself on
// a free loopback port, stopped and started again by its pid, and removed at the end. The
// shared servers of the machine are never touched — a test that stops a server must own it.
import type { ChildProcess } from 'node:child_process'
import { spawn } from 'node:child_process'
import { chown, mkdtemp, rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import postgres from 'postgres'

import { migrate } from '../../src/core/db/migrate.js'
import type { Binaries } from '../../src/core/embedded/binaries.js'
import { copyBinaries, locateBinaries } from '../../src/core/embedded/binaries.js'
import type { ServerUser } from '../../src/core/embedded/os-user.js'
import { blockedOnTheWay, childEnv, serverUser } from '../../src/core/embedded/os-user.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A TCP port nobody listens on right now (the system picks it). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Wait for a child to exit, sending `signal` first; SIGKILL after `ms`. */
async function stopChild(child: ChildProcess, signal: NodeJS.Signals, ms = 30_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  process.kill(child.pid!, signal)
  const timer = setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), ms)
  await exited
  clearTimeout(timer)
}

export interface PrivateRedis {
  readonly port: number
  readonly url: string
  /** The running server's pid, or undefined while stopped. */
  readonly pid: number | undefined
  /** Start it again on the same port (empty: nothing is persisted). */
  start(): Promise<void>
  /** SIGTERM and wait until it is gone. */
  stop(): Promise<void>
}

/** Whether a Redis on `port` answers PING. */
function redisAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    let text = ''
    socket.setTimeout(500, () => socket.destroy())
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', (d) => {
      text += d
      if (text.includes('\r\n')) socket.end()
    })
    socket.on('error', () => {})
    socket.on('close', () => resolve(text.startsWith('+PONG')))
  })
}

/** `redis-server` on a free loopback port, without persistence, as the test's own child. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort()
  let child: ChildProcess | undefined
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    for (let i = 0; i < 200; i++) {
      if (await redisAnswers(port)) return
      if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${child.exitCode}`)
      await sleep(25)
    }
    throw new Error(`redis-server on port ${port} did not answer within 5 s`)
  }
  await start()
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined
    },
    start,
    async stop() {
      if (child) await stopChild(child, 'SIGTERM')
    },
  }
}

export interface PrivatePostgres {
  readonly port: number
  /** The running postmaster's pid, or undefined while stopped. */
  readonly pid: number | undefined
  /** A URL for `database` on this server (user postgres, trust). */
  url(database?: string): string
  /** Create `database` and apply momentry's migrations to it; returns its URL. */
  createDatabase(database: string): Promise<string>
  /** Start the postmaster again (same data directory and port) and wait until it accepts connections. */
  start(): Promise<void>
  /** Fast shutdown (SIGINT: sessions end, nothing committed is lost) and wait until it is gone. */
  stop(): Promise<void>
  /** Stop it and remove its data directory. */
  close(): Promise<void>
}

/** Whether PostgreSQL on `url` answers a query. */
async function postgresAnswers(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 1, onnotice: () => {} })
  try {
    await sql`select 1`
    return true
  } catch {
    return false
  } finally {
    await sql.end({ timeout: 0.1 }).catch(() => {})
  }
}

function runAs(user: ServerUser, cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...childEnv(user.home), LC_ALL: 'C' }, ...(user.dedicated ? { uid: user.uid, gid: user.gid } : {}) })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    child.once('error', reject)
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}: ${out}`))))
  })
}

/**
 * A PostgreSQL cluster of the test's own, from the embedded engine's binaries (the npm
 * package momentry ships), listening on a free loopback port with trust auth. PostgreSQL
 * refuses to run as root; as root it runs as the embedded mode's unprivileged user (made by
 * `serverUser` if missing), which owns the data directory, as embedded mode does.
 * Durability settings are relaxed (fsync off): a fast shutdown still loses nothing committed.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const user = await serverUser()
  const dir = await mkdtemp(join(tmpdir(), 'momentry-faults-pg-'))
  if (user.dedicated) await chown(dir, user.uid, user.gid)
  let bins: Binaries = await locateBinaries()
  if (user.dedicated && (await blockedOnTheWay(bins.postgres, user))) bins = await copyBinaries(bins, join(dir, 'engine'))
  const pgDir = join(dir, 'pg')
  await runAs(user, bins.initdb, ['-D', pgDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-instructions'])
  const port = await freePort()
  const url = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`
  let child: ChildProcess | undefined
  const start = async () => {
    child = spawn(
      bins.postgres,
      ['-D', pgDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${pgDir}`, '-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'max_connections=60'],
      { stdio: 'ignore', env: { ...childEnv(user.home), LC_ALL: 'C' }, ...(user.dedicated ? { uid: user.uid, gid: user.gid } : {}) },
    )
    for (let i = 0; i < 600; i++) {
      if (await postgresAnswers(url())) return
      if (child.exitCode !== null) throw new Error(`postgres on port ${port} exited with ${child.exitCode}`)
      await sleep(25)
    }
    throw new Error(`postgres on port ${port} did not accept connections within 15 s`)
  }
  const stop = async () => {
    if (child) await stopChild(child, 'SIGINT')
  }
  await start()
  return {
    port,
    get pid() {
      return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined
    },
    url,
    async createDatabase(database) {
      const admin = postgres(url(), { max: 1, onnotice: () => {} })
      try {
        await admin`create database ${admin(database)}`
      } finally {
        await admin.end()
      }
      const sql = postgres(url(database), { max: 1, onnotice: () => {} })
      try {
        await migrate(sql as never)
      } finally {
        await sql.end()
      }
      return url(database)
    },
    start,
    stop,
    async close() {
      await stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
