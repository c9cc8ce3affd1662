import { expect } from 'chai'
import fc from 'fast-check'

import { readableTime, timeDistance } from '../../src/core/time-text.js'
import { exactTime, timeFromNow } from '../../src/ui/time.js'
import { renderDelivery } from '../../src/ui/webhooks.js'

describe('time text for people', () => {
  const now = new Date('2026-12-02T17:47:00.000Z')

  it('writes a point in time to the second, in UTC, and reads back to that second (any time)', () => {
    expect(readableTime('2026-12-02T17:47:05.120Z')).to.equal('2026-12-02 17:47:05Z')
    fc.assert(
      fc.property(fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }), (d) => {
        const text = readableTime(d)
        expect(text).to.match(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/)
        expect(Date.parse(text.replace(' ', 'T'))).to.equal(Math.floor(d.getTime() / 1000) * 1000)
      }),
    )
  })

  it('says how far off a time is, to the precision that matters at that distance, ahead or behind', () => {
    const at = (ms: number) => new Date(now.getTime() + ms)
    expect(timeDistance(at(5000), now)).to.equal('in 5 s')
    expect(timeDistance(at(-5000), now)).to.equal('5 s ago')
    expect(timeDistance(at(200), now)).to.equal('now')
    expect(timeDistance(at(90_000), now)).to.equal('in 1 min 30 s')
    expect(timeDistance(at(120_000), now)).to.equal('in 2 min')
    expect(timeDistance(at(12 * 60_000 + 20_000), now)).to.equal('in 12 min')
    expect(timeDistance(at(-(3 * 3_600_000 + 20 * 60_000)), now)).to.equal('3 h 20 min ago')
    expect(timeDistance(at(30 * 3_600_000), now)).to.equal('in 30 h')
    expect(timeDistance(at(4 * 3_600_000 - 1000), now)).to.equal('in 4 h')
    expect(timeDistance(at(59_000), now)).to.equal('in 59 s')
    expect(timeDistance(at(3 * 3_600_000), now)).to.equal('in 3 h')
    expect(timeDistance(at(-72 * 3_600_000), now)).to.equal('3 d ago')
  })

  it('renders none as a dash, and a due time with its distance', () => {
    expect(exactTime(null)).to.equal('—')
    expect(timeFromNow(null)).to.equal('—')
    expect(timeFromNow('2026-12-02T17:47:05.000Z', now)).to.equal('2026-12-02 17:47:05Z (in 5 s)')
  })

  it('given a delivery given up on, then it says so and how to send it again, not "will retry"', () => {
    const d = { id: 'msg_aaaaaaaaaaaaaaaaaaaa', webhookId: 'whk_aaaaaaaaaaaaaaaa', eventType: 'key.revoked', attempts: 8, nextAttemptAt: now.toISOString(), lastStatus: 500, lastError: null, createdAt: now.toISOString(), deliveredAt: null }
    expect(renderDelivery({ ...d, status: 'failed' })).to.equal(
      'msg_aaaaaaaaaaaaaaaaaaaa not delivered: HTTP 500; gave up after 8 attempt(s) (`momentry webhook redeliver msg_aaaaaaaaaaaaaaaaaaaa` sends it again)',
    )
    expect(renderDelivery({ ...d, status: 'pending', attempts: 1 })).to.match(/not delivered: HTTP 500; will retry at 2026-12-02 17:47:00Z \(/)
  })
})
