import { expect } from 'chai'

import { loadConfig } from '../../src/core/config.js'
import type { CoreContext } from '../../src/core/context.js'
import { createContext } from '../../src/core/context.js'
import type { Sql } from '../../src/core/db/connect.js'
import { connectPostgres } from '../../src/core/db/connect.js'
import { silentLogger } from '../../src/core/log.js'
import { checkReadiness } from '../../src/core/readiness.js'
import { closeRedis, connectRedis } from '../../src/core/redis.js'
import { openTestSql, redisTestContext } from '../helpers/db.js'

/** A context configured without Redis, as momentry runs when REDIS_URL is not set. */
function withoutRedis(sql: Sql): CoreContext {
  const { REDIS_URL: _, ...env } = process.env
  return createContext({ config: loadConfig(env), sql, log: silentLogger, actor: 'test:runner' })
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
    const config = loadConfig({ ...process.env, REDIS_URL: 'redis://127.0.0.1:1' })
    let client: Awaited<ReturnType<typeof connectRedis>> | undefined
    const ctx = createContext({ config, sql, redis: async () => (client = await connectRedis(config.redisUrl!, silentLogger)), log: silentLogger, actor: 'test:runner' })
    try {
      expect(await checkReadiness(ctx)).to.deep.equal({ ready: false, checks: { postgres: 'ok', redis: 'unreachable' } })
    } finally {
      if (client) await closeRedis(client)
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
