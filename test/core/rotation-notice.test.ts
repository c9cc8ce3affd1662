import { expect } from 'chai'

import { createKey } from '../../src/core/api-keys/create-key.js'
import { rotateKey } from '../../src/core/api-keys/rotate-key.js'
import { notifyRotationDue } from '../../src/core/api-keys/rotation-notices.js'
import { fixedClock } from '../../src/core/clock.js'
import { openTestSql, redisTestContext, truncateAll } from '../helpers/db.js'

describe('key.rotation_due notices', () => {
  const sql = openTestSql()
  beforeEach(() => truncateAll(sql))
  after(() => sql.end())

  it('given a key rotating every 10 days and a 7-day notice, then the notice fires once, after day 3, and again for its successor', async () => {
    const clock = fixedClock('2026-11-01T00:00:00Z')
    const { ctx, close } = redisTestContext(sql, { clock, env: { MOMENTRY_ROTATION_NOTICE: '7d' } })
    try {
      const events: any[] = []
      ctx.bus.on('key.rotation_due', (e) => void events.push(e))
      const { key } = await createKey(ctx, { name: 'scheduled', type: 'service', rotateEverySeconds: 10 * 86_400 })
      await createKey(ctx, { name: 'unscheduled', type: 'service' })
      expect(await notifyRotationDue(ctx)).to.deep.equal([])
      clock.advance(3 * 86_400_000 - 1000)
      expect(await notifyRotationDue(ctx)).to.deep.equal([])
      clock.advance(2000)
      expect(await notifyRotationDue(ctx)).to.deep.equal([{ keyId: key.id, dueAt: '2026-11-11T00:00:00.000Z' }])
      expect(await notifyRotationDue(ctx)).to.deep.equal([]) // once
      await ctx.bus.drain()
      expect(events.map((e) => [e.keyId, e.name, e.dueAt])).to.deep.equal([[key.id, 'scheduled', '2026-11-11T00:00:00.000Z']])
      const rotated = await rotateKey(ctx, { id: key.id })
      clock.advance(3 * 86_400_000 + 1000)
      expect((await notifyRotationDue(ctx)).map((n) => n.keyId)).to.deep.equal([rotated.key.id])
    } finally {
      await close()
    }
  })
})
