import { expect } from 'chai'
import fc from 'fast-check'

import type { AnomalyAlert } from '../../src/core/anomalies/anomaly-view.js'
import { anomalyAlertSchema } from '../../src/core/anomalies/anomaly-view.js'
import type { DashboardSnapshot } from '../../src/core/watch/dashboard.js'
import { alertLine, keyLabel, sharedNames, sparkline } from '../../src/ui/watch/format.js'
import { MAX_ALERTS, WatchModel, mergeAlerts, reconcile } from '../../src/ui/watch/model.js'

const alert = (n: number, over: Partial<AnomalyAlert> = {}): AnomalyAlert => ({
  id: `anm_${String(n).padStart(16, '0')}`,
  keyId: 'key_aaaaaaaaaaaaaaaa',
  keyName: `k${n}`,
  type: 'multiple_ips',
  severity: 'high',
  observed: 9,
  threshold: 5,
  windowSeconds: 3600,
  detectedAt: new Date(Date.UTC(2026, 10, 22, 5, 0, n % 60)).toISOString(),
  ...over,
})

function actions() {
  const calls: string[] = []
  return {
    calls,
    acknowledge: async (id: string) => void calls.push(`ack ${id}`),
    resolve: async (id: string) => void calls.push(`resolve ${id}`),
    disableKey: async (keyId: string, id: string) => void calls.push(`disable ${keyId} ${id}`),
    quit: () => void calls.push('quit'),
  }
}

const settle = () => new Promise((r) => setImmediate(r))

describe('watch model (feed rules, keys)', () => {
  it('given a repeat of an anomaly, then it moves to the top with its count bumped, one row per anomaly', () => {
    let feed = mergeAlerts([], [alert(1), alert(2)])
    expect(feed.map((a) => a.id)).to.deep.equal([alert(2).id, alert(1).id])
    feed = mergeAlerts(feed, [alert(1, { detectedAt: '2026-11-22T05:01:00.000Z', severity: 'critical' })])
    expect(feed.map((a) => [a.id, a.count, a.severity])).to.deep.equal([
      [alert(1).id, 2, 'critical'],
      [alert(2).id, 1, 'high'],
    ])
  })

  it('given alerts detected in the same instant, then the one that arrived last is first', () => {
    const same = '2026-11-22T05:00:00.000Z'
    const feed = mergeAlerts(mergeAlerts([], [alert(1, { detectedAt: same })]), [alert(2, { detectedAt: same }), alert(3, { detectedAt: same })])
    expect(feed.map((a) => a.keyName)).to.deep.equal(['k3', 'k2', 'k1'])
  })

  it(`given a burst of 1,000 alerts, then the feed holds the newest ${MAX_ALERTS}, newest first`, async () => {
    const model = new WatchModel({ channel: 'c', via: 'Redis' }, actions(), 0)
    for (let i = 0; i < 1000; i++) model.alert(alert(i, { detectedAt: new Date(Date.UTC(2026, 10, 22, 5, 0, 0, i)).toISOString() }))
    const s = model.getState()
    expect(s.received).to.equal(1000)
    expect(s.alerts).to.have.length(MAX_ALERTS)
    expect(s.alerts[0]!.id).to.equal(alert(999).id)
    expect(s.alerts.at(-1)!.id).to.equal(alert(800).id)
  })

  it('given a snapshot without an alert seen earlier, then that alert is shown resolved; stored status and counts win', () => {
    const old = alert(1, { detectedAt: '2026-11-22T04:00:00.000Z' })
    const kept = alert(2, { detectedAt: '2026-11-22T04:00:01.000Z' })
    const feed = mergeAlerts([], [old, kept])
    const snapshot = { at: '2026-11-22T05:00:00.000Z', limit: 100, anomalies: [{ ...kept, status: 'acknowledged', count: 7 }] } as unknown as DashboardSnapshot
    const after = reconcile(feed, snapshot)
    expect(after.find((a) => a.id === old.id)!.status).to.equal('resolved')
    expect(after.find((a) => a.id === kept.id)).to.include({ status: 'acknowledged', count: 7 })
  })

  it('given key presses, then a/r act on the selected alert, d asks first, f cycles the filter, q quits', async () => {
    const a = actions()
    const model = new WatchModel({ channel: 'c', via: 'Redis' }, a, 0)
    model.alert(alert(1, { severity: 'low' }))
    model.alert(alert(2, { severity: 'critical' }))
    model.key('', { downArrow: true })
    expect(model.selected()!.id).to.equal(alert(1).id)
    model.key('a')
    await settle()
    expect(a.calls).to.deep.equal([`ack ${alert(1).id}`])
    expect(model.selected()!.status).to.equal('acknowledged')
    model.key('a') // already acknowledged: refused without a call
    expect(model.getState().message!.tone).to.equal('error')
    model.key('d')
    expect(model.getState().confirm).to.deep.include({ keyId: 'key_aaaaaaaaaaaaaaaa', anomalyId: alert(1).id })
    model.key('n')
    expect(model.getState().confirm).to.equal(undefined)
    model.key('d')
    model.key('y')
    await settle()
    expect(a.calls.at(-1)).to.equal(`disable key_aaaaaaaaaaaaaaaa ${alert(1).id}`)
    model.key('f') // ≥ medium hides the low alert, the selection falls to what is visible
    expect(model.visible().map((x) => x.id)).to.deep.equal([alert(2).id])
    expect(model.selected()!.id).to.equal(alert(2).id)
    model.key('r')
    await settle()
    expect(a.calls.at(-1)).to.equal(`resolve ${alert(2).id}`)
    for (const _ of [1, 2, 3]) model.key('f')
    expect(model.getState().filter).to.equal('low')
    model.key('q')
    expect(a.calls.at(-1)).to.equal('quit')
  })

  it('given pause, then alerts are held (bounded) and merged on resume', () => {
    const model = new WatchModel({ channel: 'c', via: 'Redis' }, actions(), 0)
    model.alert(alert(1))
    model.key('p')
    for (let i = 2; i < 400; i++) model.alert(alert(i, { detectedAt: new Date(Date.UTC(2026, 10, 22, 6, 0, 0, i)).toISOString() }))
    expect(model.getState().alerts).to.have.length(1)
    expect(model.getState().held).to.equal(398)
    model.key('p')
    expect(model.getState().paused).to.equal(false)
    expect(model.getState().alerts).to.have.length(MAX_ALERTS)
    expect(model.getState().alerts[0]!.id).to.equal(alert(399).id)
  })

  it('given the failing action, then its one-line message is shown and the model is usable again', async () => {
    const model = new WatchModel({ channel: 'c', via: 'Redis' }, { ...actions(), acknowledge: async () => Promise.reject(Object.assign(new Error('x'), { line: 'anomaly anm_1 is already resolved' })) }, 0)
    model.alert(alert(1))
    model.key('a')
    await settle()
    expect(model.getState()).to.deep.include({ busy: false, message: { text: 'anomaly anm_1 is already resolved', tone: 'error' } })
  })
})

describe('watch formatting', () => {
  it('given keys sharing a name after rotations, then each shared name gets a short id, a unique name none, and a long one is shortened to keep the id', () => {
    const keys = [
      { keyId: 'key_AAAAaaaaaaaaaaaa', name: 'billing-export' },
      { keyId: 'key_BBBBbbbbbbbbbbbb', name: 'billing-export' },
      { keyId: 'key_CCCCcccccccccccc', name: 'search-svc' },
      { keyId: 'key_DDDDdddddddddddd', name: null },
    ]
    const shared = sharedNames(keys)
    expect([...shared]).to.deep.equal(['billing-export'])
    expect(keys.map((k) => keyLabel(k, shared, 23))).to.deep.equal(['billing-export key_AAAA', 'billing-export key_BBBB', 'search-svc', 'key_DDDDdddddddddddd'])
    expect(keyLabel(keys[0]!, shared, 21)).to.equal('billing-exp… key_AAAA')
    const long = { keyId: 'key_EEEEeeeeeeeeeeee', name: 'nightly-invoice-export-eu' }
    const label = keyLabel(long, new Set([long.name]), 21)
    expect(label).to.equal('nightly-inv… key_EEEE')
    expect(label).to.have.length(21)
    // The same key listed twice (both panels) is not a shared name.
    expect(sharedNames([keys[2]!, keys[2]!]).size).to.equal(0)
  })

  it('given any counts, then the sparkline has one cell per value, blank only for zero, a full block for the peak', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 1_000_000 }), { maxLength: 120 }), fc.integer({ min: 1, max: 200 }), (values, width) => {
        const line = sparkline(values, width)
        const shown = values.slice(-width)
        expect([...line]).to.have.length(shown.length)
        ;[...line].forEach((ch, i) => expect(ch === ' ').to.equal(shown[i] === 0))
        if (shown.some((v) => v > 0)) expect(line[shown.indexOf(Math.max(...shown))]).to.equal('█')
      }),
    )
  })

  it('given hostile Redis messages, then the alert schema rejects them and a good one round-trips into one line', () => {
    fc.assert(
      fc.property(fc.anything(), (junk) => {
        expect(anomalyAlertSchema.safeParse(junk).success).to.equal(false)
      }),
    )
    const line = alertLine(anomalyAlertSchema.parse(alert(1, { keyName: 'a "quoted"\nname' })))
    expect(line.split('\n')).to.have.length(1)
    expect(line).to.include('HIGH').and.include('multiple_ips').and.include(alert(1).id)
  })
})
