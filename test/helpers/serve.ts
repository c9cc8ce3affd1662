import type { ChildProcess } from 'node:child_process'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

import type { CoreContext } from '../../src/core/context.js'
import { openCore } from '../../src/core/open-core.js'
import { startServer } from '../../src/http/server.js'

const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

export interface ServeProcess {
  url: string
  child: ChildProcess
  /** Everything the server wrote on stderr so far. */
  stderr(): string
  /** Everything the server wrote on stdout so far. */
  stdout?(): string
  /** POST JSON and parse the answer. */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; json: any }>
  /** SIGTERM and wait for a clean exit; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/**
 * Start `momentry serve --port 0` as a real process and wait until it listens. Always spawned:
 * serve runs until SIGINT/SIGTERM, and the tests that start it are about processes (shared
 * invalidation and lockout, the drain on a signal), which one process cannot stand in for.
 */
export function startServe(env: Record<string, string | undefined> = {}): Promise<ServeProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let err = ''
    let out = ''
    child.stdout!.on('data', (d) => (out += d))
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 15_000)
    child.stderr!.on('data', (d) => {
      err += d
      const m = /serving on (http:\/\/\S+?) /.exec(err)
      if (m && timer) {
        clearTimeout(timer)
        const url = m[1]!
        resolve({
          url,
          child,
          stderr: () => err,
          stdout: () => out,
          async post(path, body, headers = {}) {
            const res = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
            return { status: res.status, json: await res.json() }
          },
          stop(signal = 'SIGTERM') {
            return new Promise((done) => {
              if (child.exitCode !== null) return done(child.exitCode)
              child.once('exit', (code) => done(code))
              child.kill(signal)
            })
          },
        })
      }
    })
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)))
  })
}

/** `serveInProcess`'s handle: a running `serve` of this process. */
export interface InProcessServe extends Omit<ServeProcess, 'child'> {
  /** The core it runs on (to look at its state). */
  ctx: CoreContext
}

/**
 * `serve` in this process: the same core and server `momentry serve` starts (`openCore` +
 * `startServer`, everything it runs in the background included), on a port of its own, with
 * its log lines kept for `stderr()`. It is an instance of its own all the same — its own
 * pools, LISTEN connection and cache — so what reaches it from other instances travels
 * through PostgreSQL and Redis as between processes. For signals and a process's exit, use
 * `startServe`.
 */
export async function serveInProcess(env: Record<string, string | undefined> = {}): Promise<InProcessServe> {
  let err = ''
  const line = (level: string) => (m: string) => void (err += `momentry ${level}: ${m}\n`)
  const merged = { ...process.env, ...env }
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete merged[k]
  const core = openCore({ env: merged, longRunning: true, log: { debug() {}, info: line('info'), warn: line('warn'), error: line('error') } })
  const server = await startServer(core, { host: '127.0.0.1', port: 0 })
  err += `momentry serving on ${server.url}\n`
  let stopped: Promise<number> | undefined
  return {
    url: server.url,
    ctx: core.ctx,
    stderr: () => err,
    async post(path, body, headers = {}) {
      const res = await fetch(server.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
      return { status: res.status, json: await res.json() }
    },
    stop() {
      stopped ??= server.close().then(() => 0)
      return stopped
    },
  }
}
