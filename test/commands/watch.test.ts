// `watch` itself is spawned (startWatch): it runs until a signal, and what is tested is a
// real pipe on stdout and a clean exit on SIGINT/SIGTERM. One-shot commands run in process.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

import { createClient } from '@redis/client'
import { expect } from 'chai'

import { upsertAnomaly } from '../../src/core/anomalies/repo.js'
import { expectOneLineError } from '../helpers/assert.js'
import { runCli, runJson } from '../helpers/cli.js'
import { openTestSql, truncateAll } from '../helpers/db.js'

const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))
const CHANNEL = `${process.env.MOMENTRY_REDIS_PREFIX}anomaly:alerts`

/** `momentry watch` as a pipe sees it: stdout is not a terminal. */
function startWatch(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, 'watch', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  const waitFor = async (what: () => boolean, label: string, ms = 10_000) => {
    const end = Date.now() + ms
    while (!what()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${label}; stderr: ${stderr}; stdout: ${stdout}`)
      await new Promise((r) => setTimeout(r, 25))
    }
  }
  return {
    out: () => stdout,
    err: () => stderr,
    waitFor,
    async stop(signal: NodeJS.Signals = 'SIGINT') {
      child.kill(signal)
      return exited
    },
  }
}

describe('momentry watch (line mode, through the CLI)', function () {
  this.timeout(30_000)
  const sql = openTestSql()
  const publisher = createClient({ url: process.env.REDIS_URL })
  before(() => publisher.connect())
  beforeEach(() => truncateAll(sql))
  after(async () => {
    await publisher.close()
    await sql.end()
  })

  const alert = (n: number) => ({ id: `anm_00000000000000${String(n).padStart(2, '0')}`, keyId: 'key_0000000000000001', keyName: 'billing "api"', type: 'high_request_rate', severity: 'critical', observed: 5000, threshold: 1000, windowSeconds: 60, detectedAt: '2026-11-22T05:00:00.000Z' })

  it('given --json, then each alert on Redis becomes one JSON object per line, malformed messages are skipped, and SIGINT exits 0', async () => {
    const w = startWatch(['--json'])
    await w.waitFor(() => w.err().includes(`listening on ${CHANNEL}`), 'the subscription')
    await publisher.publish(CHANNEL, JSON.stringify(alert(1)))
    await publisher.publish(CHANNEL, '{"id":"anm_x","severity":"apocalyptic"}')
    await publisher.publish(CHANNEL, 'not json')
    await publisher.publish(CHANNEL, JSON.stringify(alert(2)))
    await w.waitFor(() => w.out().split('\n').length >= 3, 'two lines')
    expect(await w.stop()).to.equal(0)
    const lines = w.out().trim().split('\n')
    expect(lines.map((l) => JSON.parse(l))).to.deep.equal([alert(1), alert(2)])
    expect(w.err().match(/malformed/g)).to.have.length(1)
  })

  it('given stdout is a pipe and no --json, then each alert is one readable line', async () => {
    const w = startWatch([])
    await w.waitFor(() => w.err().includes('listening on'), 'the subscription')
    await publisher.publish(CHANNEL, JSON.stringify(alert(3)))
    await w.waitFor(() => w.out().includes('\n'), 'a line')
    expect(await w.stop('SIGTERM')).to.equal(0)
    expect(w.out()).to.equal('2026-11-22T05:00:00.000Z CRITICAL high_request_rate key_0000000000000001 "billing \\"api\\"" observed=5000 threshold=1000 window=60s anm_0000000000000003\n')
  })

  it('given no REDIS_URL, then alerts come live over PostgreSQL NOTIFY, one JSON object per line', async () => {
    const w = startWatch(['--json', '--interval', '1s'], { REDIS_URL: '' })
    await w.waitFor(() => w.err().includes('listening on momentry_alerts via PostgreSQL'), 'the NOTIFY feed')
    await sql`select pg_notify('momentry_alerts', ${JSON.stringify(alert(4))})`
    await w.waitFor(() => w.out().includes('\n'), 'the alert')
    expect(await w.stop()).to.equal(0)
    expect(JSON.parse(w.out())).to.deep.equal(alert(4))
  })

  it('given the live feed down (Redis unreachable), then anomalies are found by polling PostgreSQL', async () => {
    const created = await runJson(['api-key', 'create', '--name', 'polled', '--type', 'service'])
    const w = startWatch(['--json', '--interval', '1s'], { REDIS_URL: 'redis://127.0.0.1:1' })
    await w.waitFor(() => w.err().includes('polling PostgreSQL every') && w.err().includes('PostgreSQL connected'), 'the polling notice')
    await upsertAnomaly(sql, 'anm_00000000000000p1', created.json.key.id, { type: 'multiple_ips', severity: 'high', observed: 9, threshold: 5, windowSeconds: 3600, details: {} }, new Date())
    await w.waitFor(() => w.out().includes('\n'), 'the polled anomaly')
    expect(await w.stop()).to.equal(0)
    expect(JSON.parse(w.out())).to.include({ id: 'anm_00000000000000p1', keyId: created.json.key.id, keyName: 'polled', type: 'multiple_ips', severity: 'high', status: 'open', count: 1 })
  })

  it('given a bad --interval, then one line and exit 2', async () => {
    expectOneLineError(await runCli(['watch', '--interval', 'soon']), 2, /--interval/)
  })
})
