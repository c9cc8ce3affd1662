import { expect } from 'chai'

import { upsertAnomaly } from '../../src/core/anomalies/repo.js'
import { runJson } from '../helpers/cli.js'
import { openTestSql, truncateAll } from '../helpers/db.js'

/** The --json convention (README, "JSON output"): lists are {items[, nextCursor]}, one thing is under its name. */
describe('--json shapes: lists are {items}, one thing is under its name', () => {
  const sql = openTestSql()
  beforeEach(() => truncateAll(sql))
  after(() => sql.end())

  const ok = async (...args: string[]) => {
    const r = await runJson(args)
    expect(r.code, `${args.join(' ')}: ${r.stdout} ${r.stderr}`).to.equal(0)
    return r.json
  }

  it('given one of each, when every list command runs, then each answers an object with items (and nextCursor where it pages), never a bare array', async () => {
    const { key } = await ok('api-key', 'create', '--name', 'shapes', '--type', 'service')
    await upsertAnomaly(sql, 'anm_00000000000000s1', key.id, { type: 'multiple_ips', severity: 'high', observed: 9, threshold: 5, windowSeconds: 3600, details: {} }, new Date())
    await ok('blacklist', 'add', '192.0.2.0/24')
    await ok('webhook', 'add', 'http://127.0.0.1:9/hook', '--events', 'key.revoked')

    const lists: Array<[string[], string[], number]> = [
      [['api-key', 'list'], ['items', 'nextCursor'], 1],
      [['audit', 'list'], ['items', 'nextCursor'], 2], // key.create, blacklist.add
      [['anomaly', 'list'], ['items'], 1],
      [['blacklist', 'list'], ['items'], 1],
      [['webhook', 'list'], ['items'], 1],
      [['webhook', 'deliveries'], ['items'], 0],
    ]
    for (const [args, keys, length] of lists) {
      const json = await ok(...args)
      expect(json, args.join(' ')).to.have.all.keys(...keys)
      expect(json.items, args.join(' ')).to.be.an('array').with.length(length)
    }
    expect((await ok('api-key', 'list')).nextCursor).to.equal(null)
    expect((await ok('lockout', 'list'))).to.have.all.keys('items')
    const config = await ok('config')
    expect(config).to.have.all.keys('items')
    expect(config.items.map((e: { name: string }) => e.name)).to.include('DATABASE_URL')
  })

  it('given a key, when revoked, disabled or enabled, then the key comes back under key, as create, show and rotate give it', async () => {
    const a = (await ok('api-key', 'create', '--name', 'a', '--type', 'service')).key.id as string
    const b = (await ok('api-key', 'create', '--name', 'b', '--type', 'service')).key.id as string
    const disabled = await ok('api-key', 'disable', a, '--reason', 'spike')
    expect(disabled).to.have.all.keys('key')
    expect(disabled.key).to.include({ id: a, status: 'disabled', disabledReason: 'spike' })
    const enabled = await ok('api-key', 'enable', a)
    expect(enabled).to.have.all.keys('key')
    expect(enabled.key).to.include({ id: a, status: 'active' })
    const revoked = await ok('api-key', 'revoke', b, '--reason', 'leaked')
    expect(revoked).to.have.all.keys('key')
    expect(revoked.key).to.include({ id: b, status: 'revoked', revokedReason: 'leaked' })
    expect(await ok('api-key', 'show', b)).to.have.all.keys('key', 'history')
  })

  it('given an entry, a webhook and an anomaly, when removed, shown, acknowledged or resolved, then each comes back under its name', async () => {
    await ok('blacklist', 'add', '198.51.100.0/24')
    const removed = await ok('blacklist', 'remove', '198.51.100.0/24')
    expect(removed).to.have.all.keys('entry')
    expect(removed.entry).to.include({ network: '198.51.100.0/24' })

    const added = await ok('webhook', 'add', 'http://127.0.0.1:9/hook', '--events', 'key.revoked')
    expect(added).to.have.all.keys('webhook', 'secret')
    const gone = await ok('webhook', 'remove', added.webhook.id)
    expect(gone).to.deep.equal({ webhook: added.webhook })

    const { key } = await ok('api-key', 'create', '--name', 'watched', '--type', 'service')
    await upsertAnomaly(sql, 'anm_00000000000000s2', key.id, { type: 'high_request_rate', severity: 'low', observed: 1200, threshold: 1000, windowSeconds: 60, details: {} }, new Date())
    const shown = await ok('anomaly', 'show', 'anm_00000000000000s2')
    expect(shown).to.have.all.keys('anomaly')
    expect(shown.anomaly).to.include({ id: 'anm_00000000000000s2', keyId: key.id, keyName: 'watched', status: 'open' })
    const acked = await ok('anomaly', 'ack', 'anm_00000000000000s2')
    expect(acked).to.have.all.keys('anomaly')
    expect(acked.anomaly).to.include({ status: 'acknowledged' })
    const resolved = await ok('anomaly', 'resolve', 'anm_00000000000000s2', '--note', 'load test')
    expect(resolved).to.have.all.keys('anomaly')
    expect(resolved.anomaly).to.include({ status: 'resolved', resolutionNote: 'load test' })
  })
})
