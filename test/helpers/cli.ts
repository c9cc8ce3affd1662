import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

export interface CliResult {
  code: number
  stdout: string
  stderr: string
  /** stdout parsed as JSON (undefined when it is not JSON). */
  json: any
}

/**
 * Run the built CLI as a user would: a real process, real exit code. `input` is piped
 * to stdin (stdin is otherwise an empty pipe, as in CI).
 */
export function runCli(args: string[], options: { input?: string | Buffer; env?: Record<string, string | undefined> } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...options.env },
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

/** Assert-friendly: run with --json and return the parsed output and exit code. */
export async function runJson(args: string[], options: Parameters<typeof runCli>[1] = {}): Promise<CliResult> {
  return runCli([...args, '--json'], options)
}
