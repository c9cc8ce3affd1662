// Slow network work shows a spinner on stderr when stderr is a terminal, and nothing when it
// is not. Real processes against a local server that accepts connections and never answers:
// a terminal comes from util-linux `script`, which runs the CLI on a pseudo-terminal.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import type { Server, Socket } from 'node:net'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { expect } from 'chai'

import { expectOneLineError } from '../helpers/assert.js'
import { spawnCli } from '../helpers/cli.js'

const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))
const hasScript = spawnSync('script', ['--version']).status === 0
const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`

/** Run the CLI with a pseudo-terminal as stdin, stdout and stderr; everything it wrote, in order. */
function onTerminal(args: string[], env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const command = [process.execPath, BIN, ...args].map(quote).join(' ')
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? -1, output }))
  })
}

describe('progress on slow network work (spawned, against a server that never answers)', function () {
  this.timeout(30_000)
  let server: Server
  const sockets = new Set<Socket>()
  let dataDir: string
  let env: Record<string, string>

  before(async () => {
    server = createServer((socket) => {
      sockets.add(socket)
      socket.on('error', () => {})
      socket.on('close', () => sockets.delete(socket))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as { port: number }
    dataDir = mkdtempSync(join(tmpdir(), 'momentry-progress-'))
    env = { GITEA_URL: `http://127.0.0.1:${port}`, GITEA_USERNAME: 'admin', GITEA_PASSWORD: 'admin-pw', MOMENTRY_DATA_DIR: dataDir, MOMENTRY_HTTP_TIMEOUT_SECONDS: '1' }
  })
  after(async () => {
    for (const s of sockets) s.destroy()
    await new Promise((resolve) => server.close(resolve))
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('given stderr is not a terminal, when `gitea list` times out, then stderr holds only the error line (exit 7)', async () => {
    const r = await spawnCli(['gitea', 'list'], { env })
    expectOneLineError(r, 7, /Gitea at http:\/\/127\.0\.0\.1:\d+ did not answer within 1 s/)
    expect(r.stdout).to.equal('')
  })

  it('given stderr is not a terminal, when `doctor` waits on a hanging Gitea, then no progress line is written', async () => {
    const r = await spawnCli(['doctor'], { env })
    expect(r.stderr).to.equal('')
    expect(r.stdout).to.match(/gitea\s+Gitea at .* did not answer within 1 s/)
  })

  it('given a terminal, when `gitea list` waits on a server that never answers, then a spinner turns on stderr and ends "failed" before the error', async function () {
    if (!hasScript) throw new Error('these tests need util-linux `script` for a terminal: apt-get install -y bsdutils')
    const r = await onTerminal(['gitea', 'list'], env)
    expect(r.code).to.equal(7)
    expect(r.output).to.include('Listing Gitea tokens...')
    expect(r.output).to.match(/Listing Gitea tokens\.\.\. failed\r?\nError: Gitea at .* did not answer within 1 s/)
  })

  it('given a terminal, when `doctor` waits on a hanging Gitea, then a progress line shows until the report, ending "done"', async function () {
    if (!hasScript) throw new Error('these tests need util-linux `script` for a terminal: apt-get install -y bsdutils')
    const r = await onTerminal(['doctor'], env)
    expect(r.output).to.match(/Checking PostgreSQL, Redis, the keychain, Gitea and n8n\.\.\. done\r?\n[\s\S]*gitea\s+Gitea at .* did not answer/)
  })

  it('given a terminal and --json, when `gitea list` times out, then no spinner: only the JSON error', async function () {
    if (!hasScript) throw new Error('these tests need util-linux `script` for a terminal: apt-get install -y bsdutils')
    const r = await onTerminal(['gitea', 'list', '--json'], env)
    expect(r.code).to.equal(7)
    expect(r.output).not.to.include('Listing Gitea tokens')
    expect(JSON.parse(r.output).error.code).to.equal('SERVICE_TIMEOUT')
  })
})
