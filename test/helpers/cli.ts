import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

import { runInProcess } from './in-process.js'

const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

export interface CliResult {
  code: number
  stdout: string
  stderr: string
  /** stdout parsed as JSON (undefined when it is not JSON). */
  json: any
}

export interface CliOptions {
  /** Piped to stdin; stdin is otherwise an empty pipe, as in CI. */
  input?: string | Buffer
  /** Added to the environment for this run; `undefined` removes a variable. */
  env?: Record<string, string | undefined>
  /** Working directory of a spawned run (in-process runs keep the test's). */
  cwd?: string
}

/**
 * Run the built CLI in this process (see in-process.ts): the same commands, hook and error
 * handling as `bin/run.js`, with stdin, env, output and exit code lent to the run. Runs
 * take turns; use `spawnCli` for what only a real process shows.
 */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return runInProcess(args, options)
}

/** Assert-friendly: run with --json (in process) and return the parsed output and exit code. */
export function runJson(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return runCli([...args, '--json'], options)
}

/**
 * Run the built CLI as a user would: a real process, real exit code, `input` piped to stdin.
 * For what a run in this process cannot show: the process's own exit code and exit, stdin
 * through a real pipe, signals, many processes at once.
 */
export function spawnCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...options.env },
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => {
      let json: any
      try {
        json = JSON.parse(stdout)
      } catch {
        json = undefined
      }
      resolve({ code: code ?? -1, stdout, stderr, json })
    })
    child.stdin.on('error', () => {}) // the CLI may stop reading an oversized input early
    child.stdin.end(options.input ?? '')
  })
}

/** `spawnCli` with --json. */
export function spawnJson(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return spawnCli([...args, '--json'], options)
}
