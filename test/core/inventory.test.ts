import { expect } from 'chai'

import { revokeKey } from '../../src/core/api-keys/change-key-state.js'
import { createKey } from '../../src/core/api-keys/create-key.js'
import { fixedClock } from '../../src/core/clock.js'
import type { Sql } from '../../src/core/db/connect.js'
import { UsageError } from '../../src/core/errors.js'
import { buildInventory } from '../../src/core/reports/inventory.js'
import { openTestSql, testContext, truncateAll } from '../helpers/db.js'

describe('report inventory over a window (core)', () => {
  let sql: Sql
  before(() => (sql = openTestSql()))
  after(() => sql.end())

  it('keeps exactly the credentials that existed in [since, until): created before the end, not ended before the start', async () => {
    await truncateAll(sql)
    const clock = fixedClock('2031-01-01T00:00:00Z')
    const ctx = testContext(sql, { clock })
    const early = (await createKey(ctx, { name: 'early', type: 'service' })).key.id
    const expiring = (await createKey(ctx, { name: 'expiring', type: 'service', expiresAt: new Date('2031-01-10T00:00:00Z') })).key.id
    clock.set('2031-01-05T00:00:00Z')
    await revokeKey(ctx, { id: early, reason: 'test' })
    clock.set('2031-01-20T00:00:00Z')
    const late = (await createKey(ctx, { name: 'late', type: 'user' })).key.id
    clock.set('2031-02-01T00:00:00Z')
    const ids = async (since?: string, until?: string) =>
      (await buildInventory(ctx, { since: since ? new Date(since) : undefined, until: until ? new Date(until) : undefined })).items.map((i) => i.id).sort()
    expect(await ids()).to.deep.equal([early, expiring, late].sort())
    expect(await ids('2031-01-06T00:00:00Z')).to.deep.equal([expiring, late].sort())
    expect(await ids('2031-01-11T00:00:00Z')).to.deep.equal([late])
    expect(await ids(undefined, '2031-01-20T00:00:00Z')).to.deep.equal([early, expiring].sort())
    expect(await ids('2031-01-05T00:00:00Z', '2031-01-06T00:00:00Z')).to.deep.equal([early, expiring].sort())
    const inv = await buildInventory(ctx, { since: new Date('2031-01-11T00:00:00Z') })
    expect(inv.window).to.deep.equal({ since: '2031-01-11T00:00:00.000Z', until: '2031-02-01T00:00:00.000Z' })
    expect(inv.counts).to.deep.equal({ 'momentry-key': 1, 'gitea-token': 0, 'n8n-api-key': 0 })
    let error: unknown
    await buildInventory(ctx, { since: new Date('2031-03-01T00:00:00Z') }).catch((e) => (error = e))
    expect(error).to.be.instanceOf(UsageError)
  })
})
