import { expect } from 'chai'

import type { CoreContext } from '../../src/core/context.js'
import type { Sql } from '../../src/core/db/connect.js'
import { connectPostgres } from '../../src/core/db/connect.js'
import { checkReadiness } from '../../src/core/readiness.js'
import { openTestSql, redisTestContext, testContext, testCore } from '../helpers/db.js'

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

  it('given PostgreSQL unreachable, then not ready with the reason, naming neither the host nor the CLI', async () => {
    const down = connectPostgres('postgres://postgres@127.0.0.1:1/momentry_nowhere')
    try {
      expect(await checkReadiness(withoutRedis(down))).to.deep.equal({ ready: false, checks: { postgres: 'cannot reach PostgreSQL at DATABASE_URL (ECONNREFUSED)' } })
    } finally {
      await down.end()
    }
  })
})
