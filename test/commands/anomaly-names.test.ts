import { expect } from 'chai'

import { upsertAnomaly } from '../../src/core/anomalies/repo.js'
import { runCli, runJson } from '../helpers/cli.js'
import { openTestSql, truncateAll } from '../helpers/db.js'

describe('anomaly list and show name the key as well as its id (rotations share a name)', () => {
  const sql = openTestSql()
  beforeEach(() => truncateAll(sql))
  after(() => sql.end())

  const detection = { type: 'multiple_ips', severity: 'high', observed: 9, threshold: 5, windowSeconds: 3600, details: {} } as const

  it('given anomalies on a key and on its rotated successor, when listed and shown, then each row gives the key id and the name', async () => {
    const old = (await runJson(['api-key', 'create', '--name', 'billing-export', '--type', 'service'])).json.key.id as string
    const next = (await runJson(['api-key', 'rotate', old])).json.key.id as string
    await upsertAnomaly(sql, 'anm_00000000000000a1', old, detection, new Date(Date.now() - 60_000))
    await upsertAnomaly(sql, 'anm_00000000000000a2', next, detection, new Date())

    const list = await runJson(['anomaly', 'list'])
    expect(list.code, list.stderr).to.equal(0)
    expect(list.json.items.map((a: { id: string; keyId: string; keyName: string }) => [a.id, a.keyId, a.keyName])).to.deep.equal([
      ['anm_00000000000000a2', next, 'billing-export'],
      ['anm_00000000000000a1', old, 'billing-export'],
    ])
    const table = (await runCli(['anomaly', 'list'])).stdout
    expect(table).to.match(/│ name\s+│/)
    for (const id of [old, next]) expect(table).to.match(new RegExp(`${id}\\s+│ billing-export\\s+│`))

    const show = await runCli(['anomaly', 'show', 'anm_00000000000000a1'])
    expect(show.stdout).to.match(new RegExp(`^key\\s+${old} \\("billing-export"\\)$`, 'm'))
    const shown = await runJson(['anomaly', 'show', 'anm_00000000000000a1'])
    expect(shown.json.anomaly).to.include({ keyId: old, keyName: 'billing-export' })
    const acked = await runJson(['anomaly', 'ack', 'anm_00000000000000a2'])
    expect(acked.json.anomaly).to.include({ keyId: next, keyName: 'billing-export', status: 'acknowledged' })
  })
})
