import { expect } from 'chai'

import type { CoreContext } from '../../src/core/context.js'
import type { Sql } from '../../src/core/db/connect.js'
import { connectPostgres } from '../../src/core/db/connect.js'
import { checkReadiness } from '../../src/core/readiness.js'
import { mirrorValidationState } from '../../src/core/validation/mirrors.js'
import { openTestSql, redisTestContext, testContext, testCore } from '../helpers/db.js'

const until = async (what: string, ok: () => boolean, ms = 5000) => {
  const end = Date.now() + ms
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** A context configured without Redis, as momentry runs when REDIS_URL is not set. */
function withoutRedis(sql: Sql): CoreContext {
  return testContext(sql, { env: { REDIS_URL: '' } })
}

describe('checkReadiness (real PostgreSQL and Redis)', () => {
  let sql: Sql

  before(() => {
    sql = openTestSql()
  })
  after(() => sql.end())

  it('given PostgreSQL and Redis up, then ready with both checks ok', async () => {
    const { ctx, close } = redisTestContext(sql)
    try {
      expect(await checkReadiness(ctx)).to.deep.equal({ ready: true, checks: { postgres: 'ok', redis: 'ok' } })
    } finally {
      await close()
    }
  })

  it('given no REDIS_URL, then only PostgreSQL is checked, since momentry runs without Redis', async () => {
    expect(await checkReadiness(withoutRedis(sql))).to.deep.equal({ ready: true, checks: { postgres: 'ok' } })
  })

  it('given REDIS_URL pointing at a closed port, then not ready with redis unreachable and postgres ok', async () => {
    const down = testCore(sql, { redis: true, env: { REDIS_URL: 'redis://127.0.0.1:1' } })
    try {
      expect(await checkReadiness(down.ctx)).to.deep.equal({ ready: false, checks: { postgres: 'ok', redis: 'unreachable' } })
    } finally {
      await down.close()
    }
  })

  it('given PostgreSQL unreachable, then not ready with postgres unreachable, and nothing of its address or the reason', async () => {
    const down = connectPostgres('postgres://postgres@127.0.0.1:1/momentry_nowhere')
    try {
      expect(await checkReadiness(withoutRedis(down))).to.deep.equal({ ready: false, checks: { postgres: 'unreachable' } })
    } finally {
      await down.end()
    }
  })

  it('given the mirrors service, then listen is ok while its LISTEN connection is up, down (not ready) while it is not, and gone once it stops', async () => {
    const core = testCore(sql, { effects: [], env: { REDIS_URL: '' } })
    expect(await checkReadiness(core.ctx), 'not started: nothing listens').to.deep.equal({ ready: true, checks: { postgres: 'ok' } })
    // A slow reconnect, so that the down state lasts while it is looked at.
    const off = await mirrorValidationState(core.ctx, { retryMs: 1500 })
    try {
      expect(await checkReadiness(core.ctx)).to.deep.equal({ ready: true, checks: { postgres: 'ok', listen: 'ok' } })
      await sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = 'momentry-listen'`
      await until('the listener to drop', () => core.ctx.validation.listening === false)
      expect(await checkReadiness(core.ctx)).to.deep.equal({ ready: false, checks: { postgres: 'ok', listen: 'down' } })
      await until('the listener to come back', () => core.ctx.validation.listening === true)
      expect(await checkReadiness(core.ctx)).to.deep.equal({ ready: true, checks: { postgres: 'ok', listen: 'ok' } })
    } finally {
      await off()
    }
    expect(await checkReadiness(core.ctx), 'stopped').to.deep.equal({ ready: true, checks: { postgres: 'ok' } })
    await core.close()
  })
})
