// Shared pieces of `npm run bench`: the run's environment, timing helpers, process helpers.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import autocannon from 'autocannon'

export const BIN = fileURLToPath(new URL('../bin/run.js', import.meta.url))
export const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
export const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
export const suffix = randomBytes(4).toString('hex')
export const dbName = `momentry_bench_${suffix}`
export const dbUrl = Object.assign(new URL(adminUrl), { pathname: `/${dbName}` }).toString()
export const prefix = `momentry_bench_${suffix}:`
/** The environment of every process the bench starts: its own database and Redis prefix. */
/** The data directory of the run's processes (serve's checkpoint signing key lands there), removed at the end. */
export const dataDir = join(tmpdir(), `${dbName}-data`)
// An audit key and a data directory of the run's own: nothing lands in the user's credential store.
export const env = { ...process.env, DATABASE_URL: dbUrl, REDIS_URL: redisUrl, MOMENTRY_REDIS_PREFIX: prefix, NO_COLOR: '1', MOMENTRY_AUDIT_KEY: process.env.MOMENTRY_AUDIT_KEY || randomBytes(32).toString('base64'), MOMENTRY_DATA_DIR: dataDir }

export const say = (line) => process.stderr.write(`${line}\n`)
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
export const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]

/** Start `momentry serve --port 0` with the bench environment (plus `extraEnv`) and wait until it listens. */
export function spawnServe(extraEnv = {}, bin = BIN) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'serve', '--port', '0'], { env: { ...env, ...extraEnv }, stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    child.stderr.on('data', (d) => {
      err += d
      const m = /serving on (http:\/\/\S+?) /.exec(err)
      if (m) resolve({ url: m[1], child, stop: () => new Promise((done) => (child.once('exit', done), child.kill('SIGTERM'))) })
    })
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)))
  })
}

/** Run a command once, timing it as a whole process. */
export function runOnce(args, input, extraEnv = {}) {
  return new Promise((resolve) => {
    const started = performance.now()
    const child = spawn(args[0], args.slice(1), { env: { ...env, ...extraEnv }, stdio: ['pipe', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    child.once('exit', (code) => resolve({ ms: performance.now() - started, code, stderr }))
    child.stdin.end(input ?? '')
  })
}

/** Resident memory of a process, in MB (Linux /proc). */
export function rssMb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) / 1024 : NaN
}

/** autocannon against `url` for `seconds`, 50 connections. */
export async function load(url, body, seconds) {
  const r = await autocannon({ url, method: 'POST', connections: 50, pipelining: 1, duration: seconds, headers: { 'content-type': 'application/json' }, body })
  return { rps: Math.round(r.requests.average), p99: r.latency.p99, errors: r.errors + r.non2xx }
}

export const post = async (url, payload) => (await fetch(`${url}/v1/keys/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) })).json()
