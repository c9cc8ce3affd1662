// Tables fit the terminal they are drawn on, and only a terminal: real processes on a
// pseudo-terminal of 80 columns (util-linux `script`, the width set with `stty`), against the
// same commands piped, with --wide and with --json.
import { spawn, spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

import { expect } from 'chai'

import { upsertAnomaly } from '../../src/core/anomalies/repo.js'
import { runJson, spawnCli } from '../helpers/cli.js'
import { openTestSql, truncateAll } from '../helpers/db.js'

const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))
const hasScript = spawnSync('script', ['--version']).status === 0
const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`
const width = createRequire(import.meta.url)('string-width') as (s: string) => number
const strip = (s: string) => s.replace(/\u001B\[[0-9;?]*[A-Za-z]/g, '')

/** The CLI on a pseudo-terminal `cols` wide: its stdout and stderr as the terminal showed them, lines split. */
function onTerminal(args: string[], cols = 80): Promise<{ code: number; lines: string[]; output: string }> {
  return new Promise((resolve, reject) => {
    const command = `stty cols ${cols} rows 24; ${[process.execPath, BIN, ...args].map(quote).join(' ')}`
    const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    child.on('error', reject)
    child.on('close', (code) => {
      const text = strip(output).replaceAll('\r\n', '\n').replace(/\n$/, '')
      resolve({ code: code ?? -1, output: text, lines: text.split('\n') })
    })
  })
}

const KEY_HEADS = ['id', 'name', 'type', 'status', 'scopes', 'owner', 'created', 'expires', 'last used']
const headRow = (lines: string[]) => lines.find((l) => l.startsWith('│ id') || /^│ \w/.test(l))!.split('│').slice(1, -1).map((c) => c.trim())

describe('tables fit an 80-column terminal; pipes, --wide and --json get everything (spawned)', function () {
  this.timeout(60_000)
  const sql = openTestSql()
  before(async function () {
    if (!hasScript) throw new Error('these tests need util-linux `script` for a terminal: apt-get install -y bsdutils')
    await truncateAll(sql)
    const key = async (name: string, owner: string, scopes: string) =>
      (await runJson(['api-key', 'create', '--name', name, '--type', 'integration', '--owner', owner, '--scopes', scopes, '--expires-in', '90d'])).json.key.id as string
    const billing = await key('billing-export-nightly-to-warehouse', 'payments-platform-team', 'billing:read,billing:write,reports:read')
    const search = await key('search-indexer', 'search-team', 'search:read')
    await upsertAnomaly(sql, 'anm_00000000000000b1', billing, { type: 'high_request_rate', severity: 'critical', observed: 1200, threshold: 300, windowSeconds: 60, details: {} }, new Date())
    await upsertAnomaly(sql, 'anm_00000000000000b2', search, { type: 'multiple_ips', severity: 'medium', observed: 9, threshold: 5, windowSeconds: 3600, details: {} }, new Date())
    await runJson(['anomaly', 'ack', 'anm_00000000000000b2'])
    await runJson(['blacklist', 'add', '198.51.100.0/24', '--reason', 'credential stuffing from a hosting range seen on 2026-11-20', '--expires-in', '30d'])
    const hook = await runJson(['webhook', 'add', 'http://127.0.0.1:9/hooks/momentry/very/long/path/for/the/receiver', '--events', 'key.revoked,key.rotated,anomaly.detected,audit.checkpoint'])
    expect(hook.code, hook.stderr).to.equal(0)
    await runJson(['webhook', 'test', hook.json.id ?? hook.json.webhook?.id])
  })
  after(() => sql.end())

  it('given an 80-column terminal, when keys are listed, then every line fits, id, name, status and expiry stay, and the hidden columns are named', async () => {
    const r = await onTerminal(['api-key', 'list'])
    expect(r.code, r.output).to.equal(0)
    for (const line of r.lines) expect(width(line), line).to.be.at.most(80)
    const head = headRow(r.lines)
    expect(head).to.include.members(['id', 'name', 'status', 'expires'])
    expect(head.length).to.be.below(KEY_HEADS.length)
    const hidden = KEY_HEADS.filter((h) => !head.includes(h))
    expect(r.lines.at(-1)).to.equal(`hidden to fit: ${hidden.join(', ')} (--wide shows all)`)
    expect(r.output).to.match(/│ billing-export-\S*… /) // the long name shortened, not wrapped
    expect(r.output).to.include('search-indexer')
  })

  it('given an 80-column terminal and --wide, or a pipe, then every column is drawn in full, the same table', async () => {
    const wide = await onTerminal(['api-key', 'list', '--wide'])
    expect(headRow(wide.lines)).to.deep.equal(KEY_HEADS)
    expect(wide.output).to.include('billing-export-nightly-to-warehouse').and.include('billing:read,billing:write,reports:read').and.not.include('hidden to fit')
    expect(Math.max(...wide.lines.map(width))).to.be.above(80)
    const piped = await spawnCli(['api-key', 'list'])
    expect(piped.code).to.equal(0)
    expect(piped.stdout.trimEnd()).to.equal(wide.output)
    expect(piped.stdout).to.not.include('…')
  })

  it('given an 80-column terminal, when --json is asked, then the output is the same JSON as piped', async () => {
    const tty = await onTerminal(['api-key', 'list', '--json'])
    const piped = await spawnCli(['api-key', 'list', '--json'])
    expect(JSON.parse(tty.output)).to.deep.equal(piped.json)
  })

  for (const args of [
    ['anomaly', 'list'],
    ['blacklist', 'list'],
    ['webhook', 'list'],
    ['audit', 'list'],
    ['report', 'inventory'],
    ['report', 'usage'],
    ['report', 'security'],
  ]) {
    it(`given an 80-column terminal, when \`${args.join(' ')}\` draws its tables, then every line fits, and a pipe gets every column`, async () => {
      const tty = await onTerminal(args)
      expect(tty.code, tty.output).to.equal(0)
      for (const line of tty.lines) expect(width(line), `${line}\n---\n${tty.output}`).to.be.at.most(80)
      const piped = await spawnCli(args)
      expect(piped.stdout).to.not.include('hidden to fit')
      const wide = await onTerminal([...args, '--wide'])
      expect(wide.output).to.not.include('hidden to fit')
    })
  }

  it('given an 80-column terminal, when webhook deliveries are listed, then every line fits and the id, event and status stay', async () => {
    const id = (await runJson(['webhook', 'list'])).json[0]?.id ?? (await runJson(['webhook', 'list'])).json.items[0].id
    const r = await onTerminal(['webhook', 'deliveries', id])
    expect(r.code, r.output).to.equal(0)
    for (const line of r.lines) expect(width(line), r.output).to.be.at.most(80)
    expect(headRow(r.lines)).to.include.members(['delivery', 'event', 'status'])
    const piped = await spawnCli(['webhook', 'deliveries', id])
    expect(piped.stdout).to.match(/│ delivery .*│ webhook .*│ next attempt\s+│/)
  })
})
