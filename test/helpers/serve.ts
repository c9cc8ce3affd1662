import type { ChildProcess } from 'node:child_process'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

export interface ServeProcess {
  url: string
  child: ChildProcess
  /** Everything the server wrote on stderr so far. */
  stderr(): string
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
