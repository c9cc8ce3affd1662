// `serve` runs in this process (serveInProcess: the same core and server, its own connections):
// the alert goes from its detection through Redis to a subscriber of the test's. The CLI runs
// in process (runCli/runJson).
import { createClient } from '@redis/client'
import { expect } from 'chai'

import { expectJsonError, expectOneLineError } from '../helpers/assert.js'
import { runCli, runJson } from '../helpers/cli.js'
import { openTestSql, truncateAll } from '../helpers/db.js'
import type { InProcessServe } from '../helpers/serve.js'
import { serveInProcess } from '../helpers/serve.js'

describe('anomalies end to end (serve → Redis alert → CLI)', function () {
  this.timeout(60_000)
  const sql = openTestSql()
  let serve: InProcessServe | undefined
  beforeEach(() => truncateAll(sql))
  afterEach(async () => {
    await serve?.stop()
    serve = undefined
  })
  after(() => sql.end())

  it('given a serve instance, when a key passes the per-minute threshold, then the alert is on Redis within 2 s and the CLI can ack and resolve it', async () => {
    const created = await runJson(['api-key', 'create', '--name', 'hot', '--type', 'service'])
    const key = created.json.key.id
    const sub = createClient({ url: process.env.REDIS_URL })
    await sub.connect()
    const alerts: any[] = []
    await sub.subscribe(`${process.env.MOMENTRY_REDIS_PREFIX}anomaly:alerts`, (m) => void alerts.push({ at: performance.now(), alert: JSON.parse(m) }))
    try {
      serve = await serveInProcess({ ANOMALY_MAX_REQUESTS_PER_MINUTE: '50', ANOMALY_QUIET_HOURS: '00-00' })
      // The 60 validations must fall in one per-minute bucket: not across a minute's end.
      const intoMinute = Date.now() % 60_000
      if (intoMinute > 55_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 100))
      let crossedAt = 0
      for (let i = 1; i <= 60; i++) {
        const r = await serve.post('/v1/keys/verify', { key: created.json.secret, ip: '192.0.2.20' })
        expect(r.json.valid).to.equal(true)
        if (i === 51) crossedAt = performance.now()
      }
      while (alerts.length === 0 && performance.now() - crossedAt < 3000) await new Promise((r) => setTimeout(r, 20))
      expect(alerts, 'no alert on Redis').to.not.be.empty
      const first = alerts[0]
      expect(first.at - crossedAt).to.be.below(2000)
      expect(first.alert).to.include({ keyId: key, keyName: 'hot', type: 'high_request_rate', threshold: 50, windowSeconds: 60 })

      const list = await runJson(['anomaly', 'list', '--key', key])
      expect(list.code).to.equal(0)
      expect(list.json.items.map((a: any) => a.id)).to.deep.equal([first.alert.id])
      const ack = await runJson(['anomaly', 'ack', first.alert.id])
      expect(ack.json.anomaly).to.include({ status: 'acknowledged' })
      expect(ack.json.anomaly.acknowledgedBy).to.match(/^cli:/)
      const resolved = await runJson(['anomaly', 'resolve', first.alert.id, '--note', 'expected load'])
      expect(resolved.json.anomaly).to.include({ status: 'resolved', resolutionNote: 'expected load' })
      expectJsonError(await runJson(['anomaly', 'resolve', first.alert.id]), 6, 'CONFLICT')
      const text = await runCli(['anomaly', 'show', first.alert.id])
      expect(text.stdout).to.include('high_request_rate').and.include('expected load')
    } finally {
      await sub.close()
    }
  })

  it('given reported failures through POST /v1/usage, when they pass the error rate, then a high_error_rate anomaly is recorded', async () => {
    const created = await runJson(['api-key', 'create', '--name', 'downstream', '--type', 'service'])
    serve = await serveInProcess({ ANOMALY_MIN_REQUESTS: '10', ANOMALY_QUIET_HOURS: '00-00' })
    for (let i = 0; i < 12; i++) {
      const r = await serve.post('/v1/usage', { keyId: created.json.key.id, ip: '192.0.2.30', ok: i < 3 })
      expect(r.status).to.equal(202)
    }
    let rows: any[] = []
    for (let t = 0; t < 40 && rows.length === 0; t++) {
      await new Promise((r) => setTimeout(r, 100))
      rows = await sql`select anomaly_type, observed from api_key_anomalies where key_id = ${created.json.key.id}`
    }
    expect(rows.map((r) => r.anomaly_type)).to.deep.equal(['high_error_rate'])
    expect(rows[0].observed).to.be.closeTo(0.75, 0.001)
  })

  it('given bad anomaly ids, then usage errors and not-found with one line', async () => {
    expectOneLineError(await runCli(['anomaly', 'show', 'nope']), 2, /not an anomaly id/)
    expectOneLineError(await runCli(['anomaly', 'ack', 'anm_aaaaaaaaaaaaaaaa']), 5, /no anomaly with id/)
    expectOneLineError(await runCli(['anomaly', 'list', '--severity', 'extreme']), 2, /Expected --severity=extreme/)
    expectOneLineError(await runCli(['anomaly', 'list', '--since', 'yesterday']), 2, /--since/)
  })
})
