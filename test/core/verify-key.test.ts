import { expect } from 'chai'
import fc from 'fast-check'

import { disableKey, revokeKey } from '../../src/core/api-keys/change-key-state.js'
import { createKey } from '../../src/core/api-keys/create-key.js'
import { generateRawKey, KEY_LENGTH } from '../../src/core/api-keys/key-format.js'
import { fixedClock } from '../../src/core/clock.js'
import { loadConfig } from '../../src/core/config.js'
import type { CoreContext } from '../../src/core/context.js'
import { createEventBus } from '../../src/core/events.js'
import { silentLogger } from '../../src/core/log.js'
import type { Sql } from '../../src/core/db/connect.js'
import { addToBlacklist } from '../../src/core/blacklist/blacklist.js'
import { verifyKey, verifyKeyInMemory } from '../../src/core/validation/verify-key.js'
import type { TestCore } from '../helpers/db.js'
import { openTestSql, testContext, testCore, truncateAll } from '../helpers/db.js'

const T0 = '2031-06-15T08:30:00.000Z'
const MINUTE = 60_000

/** Flip one body character to another base62 character: right shape, wrong checksum. */
function breakChecksum(key: string): string {
  const i = 20
  return key.slice(0, i) + (key[i] === 'a' ? 'b' : 'a') + key.slice(i + 1)
}

describe('verifyKey', () => {
  let sql: Sql
  let clock: ReturnType<typeof fixedClock>
  let ctx: CoreContext

  before(() => {
    sql = openTestSql()
  })

  after(async () => {
    await sql.end()
  })

  beforeEach(async () => {
    await truncateAll(sql)
    clock = fixedClock(T0)
    ctx = testContext(sql, { clock })
  })

  const lastUsed = async (id: string): Promise<string | null> => {
    const [row] = await sql`select last_used_at from api_keys where key_id = ${id}`
    return row!.last_used_at ? (row!.last_used_at as Date).toISOString() : null
  }

  describe('without touching the database', () => {
    let queries: string[]
    let counted: Sql
    let countedCtx: CoreContext

    beforeEach(() => {
      queries = []
      counted = openTestSql({ onQuery: (q) => queries.push(q) })
      countedCtx = testContext(counted, { clock })
    })

    afterEach(async () => {
      await counted.end()
    })

    it('given a well-formed key with a bad checksum, when verified, then it is MALFORMED and no query ran', async () => {
      const result = await verifyKey(countedCtx, { key: breakChecksum(generateRawKey('service')) })
      expect(result).to.deep.equal({ valid: false, code: 'MALFORMED' })
      expect(queries).to.deep.equal([])
    })

    it('given garbage (empty, short, SQL-ish, oversized, binary), when verified, then each is MALFORMED and no query ran', async () => {
      for (const key of ['', 'mtry_', "' or 1=1 --", 'x'.repeat(1_000_000), '\u0000\u0001\uffff', `${generateRawKey('user')}\n`]) {
        expect(await verifyKey(countedCtx, { key })).to.deep.equal({ valid: false, code: 'MALFORMED' })
      }
      expect(queries).to.deep.equal([])
    })

    it('given arbitrary strings, when verified, then each is MALFORMED and no query ran', async () => {
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.string(), fc.string({ unit: 'binary', maxLength: KEY_LENGTH + 2 })), async (key) => {
          const result = await verifyKey(countedCtx, { key })
          return !result.valid && result.code === 'MALFORMED'
        }),
        { numRuns: 300 },
      )
      expect(queries).to.deep.equal([])
    })

    it('given a well-formed key (control case), when verified through the same counting pool, then the lookup query is counted', async () => {
      await verifyKey(countedCtx, { key: generateRawKey('user') })
      expect(queries.length).to.be.greaterThan(0)
      expect(queries.some((q) => /from api_keys/i.test(q))).to.equal(true)
    })
  })

  it('given a well-formed key that was never issued, when verified, then it is NOT_FOUND', async () => {
    await createKey(ctx, { name: 'other', type: 'user' })
    expect(await verifyKey(ctx, { key: generateRawKey('user') })).to.deep.equal({ valid: false, code: 'NOT_FOUND' })
  })

  it('given an issued key, when verified, then the result is valid with exactly id, name, type, scopes, owner and expiresAt', async () => {
    const { secret, key } = await createKey(ctx, {
      name: 'reporting',
      type: 'service',
      scopes: ['reports:read', 'keys:read'],
      owner: 'data-team',
      metadata: { env: 'prod' },
      expiresInSeconds: 30 * 86_400,
    })
    const result = await verifyKey(ctx, { key: secret })
    expect(result).to.deep.equal({
      valid: true,
      key: {
        id: key.id,
        name: 'reporting',
        type: 'service',
        scopes: ['keys:read', 'reports:read'],
        owner: 'data-team',
        expiresAt: new Date(new Date(T0).getTime() + 30 * 86_400_000).toISOString(),
      },
    })
  })

  it('given a revoked key, when verified, then it is REVOKED', async () => {
    const { secret, key } = await createKey(ctx, { name: 'k', type: 'user' })
    await revokeKey(ctx, { id: key.id })
    expect(await verifyKey(ctx, { key: secret })).to.deep.equal({ valid: false, code: 'REVOKED' })
  })

  it('given a disabled key, when verified, then it is DISABLED', async () => {
    const { secret, key } = await createKey(ctx, { name: 'k', type: 'user' })
    await disableKey(ctx, { id: key.id })
    expect(await verifyKey(ctx, { key: secret })).to.deep.equal({ valid: false, code: 'DISABLED' })
  })

  it('given a key that is disabled and then revoked, when verified, then it is REVOKED (docs/decisions.md: revocation wins over disabled)', async () => {
    const { secret, key } = await createKey(ctx, { name: 'k', type: 'user' })
    await disableKey(ctx, { id: key.id })
    await revokeKey(ctx, { id: key.id })
    expect(await verifyKey(ctx, { key: secret })).to.deep.equal({ valid: false, code: 'REVOKED' })
  })

  it('given a disabled key that has also expired, when verified, then it is DISABLED (disabled is checked before expiry)', async () => {
    const { secret, key } = await createKey(ctx, { name: 'k', type: 'user', expiresInSeconds: 60 })
    await disableKey(ctx, { id: key.id })
    clock.advance(2 * MINUTE)
    expect(await verifyKey(ctx, { key: secret })).to.deep.equal({ valid: false, code: 'DISABLED' })
  })

  it('given a key one millisecond before its expiry, when verified, then it is still valid', async () => {
    const { secret } = await createKey(ctx, { name: 'k', type: 'user', expiresInSeconds: 60 })
    clock.advance(MINUTE - 1)
    expect((await verifyKey(ctx, { key: secret })).valid).to.equal(true)
  })

  it('given a key at or after its expiry, when verified, then it is EXPIRED', async () => {
    const { secret } = await createKey(ctx, { name: 'k', type: 'user', expiresInSeconds: 60 })
    clock.advance(MINUTE)
    expect(await verifyKey(ctx, { key: secret })).to.deep.equal({ valid: false, code: 'EXPIRED' })
    clock.advance(365 * 86_400_000)
    expect(await verifyKey(ctx, { key: secret })).to.deep.equal({ valid: false, code: 'EXPIRED' })
  })

  it('given an expired key lacking a required scope, when verified, then it is EXPIRED (expiry is checked before scopes)', async () => {
    const { secret } = await createKey(ctx, { name: 'k', type: 'user', scopes: ['a'], expiresInSeconds: 60 })
    clock.advance(2 * MINUTE)
    expect(await verifyKey(ctx, { key: secret, requiredScopes: ['b'] })).to.deep.equal({ valid: false, code: 'EXPIRED' })
  })

  it('given a key without one of the required scopes, when verified, then it is INSUFFICIENT_SCOPE', async () => {
    const { secret } = await createKey(ctx, { name: 'k', type: 'user', scopes: ['keys:read'] })
    expect(await verifyKey(ctx, { key: secret, requiredScopes: ['keys:read', 'keys:write'] })).to.deep.equal({
      valid: false,
      code: 'INSUFFICIENT_SCOPE',
    })
  })

  it('given a key with no scopes, when a scope is required, then it is INSUFFICIENT_SCOPE (no scopes is not "all scopes")', async () => {
    const { secret } = await createKey(ctx, { name: 'k', type: 'user' })
    expect(await verifyKey(ctx, { key: secret, requiredScopes: ['admin'] })).to.deep.equal({ valid: false, code: 'INSUFFICIENT_SCOPE' })
  })

  it('given a key with every required scope, when verified, then it is valid', async () => {
    const { secret, key } = await createKey(ctx, { name: 'k', type: 'user', scopes: ['a', 'b', 'c'] })
    const result = await verifyKey(ctx, { key: secret, requiredScopes: ['c', 'a'] })
    expect(result.valid && result.key.id).to.equal(key.id)
  })

  it('given a required scope that differs only in case or by prefix, when verified, then it is INSUFFICIENT_SCOPE', async () => {
    const { secret } = await createKey(ctx, { name: 'k', type: 'user', scopes: ['keys:read'] })
    expect((await verifyKey(ctx, { key: secret, requiredScopes: ['KEYS:READ'] })).valid).to.equal(false)
    expect((await verifyKey(ctx, { key: secret, requiredScopes: ['keys'] })).valid).to.equal(false)
  })

  // Usage (and with it last_used_at) is buffered off the hot path; a long-running process
  // flushes it every second, so each test flushes where that process would have.
  const verifyAndFlush = async (key: string, requiredScopes?: string[]) => {
    const result = await verifyKey(ctx, { key, requiredScopes })
    await ctx.validation.usage.flush()
    return result
  }

  it('given a valid key, when verified (and usage flushed), then last_used_at is set to the clock time', async () => {
    const { secret, key } = await createKey(ctx, { name: 'k', type: 'user' })
    expect(await lastUsed(key.id)).to.equal(null)
    clock.advance(5000)
    await verifyAndFlush(secret)
    expect(await lastUsed(key.id)).to.equal(new Date(new Date(T0).getTime() + 5000).toISOString())
  })

  it('given a key used a moment ago, when verified again within the same minute, then last_used_at is not rewritten', async () => {
    const { secret, key } = await createKey(ctx, { name: 'k', type: 'user' })
    await verifyAndFlush(secret)
    clock.advance(59_000)
    await verifyAndFlush(secret)
    expect(await lastUsed(key.id)).to.equal(T0)
  })

  it('given a key last used over a minute ago, when verified, then last_used_at moves to the clock time', async () => {
    const { secret, key } = await createKey(ctx, { name: 'k', type: 'user' })
    await verifyAndFlush(secret)
    clock.advance(MINUTE + 1000)
    await verifyAndFlush(secret)
    expect(await lastUsed(key.id)).to.equal(new Date(new Date(T0).getTime() + MINUTE + 1000).toISOString())
  })

  it('given a refused validation (insufficient scope), when verified, then last_used_at is not set', async () => {
    const { secret, key } = await createKey(ctx, { name: 'k', type: 'user', scopes: ['a'] })
    await verifyAndFlush(secret, ['b'])
    expect(await lastUsed(key.id)).to.equal(null)
  })

  it('given a revoked key, when verified, then last_used_at is not set', async () => {
    const { secret, key } = await createKey(ctx, { name: 'k', type: 'user' })
    await revokeKey(ctx, { id: key.id })
    await verifyAndFlush(secret)
    expect(await lastUsed(key.id)).to.equal(null)
  })

  it('given a valid key of each type, when verified, then the result reports that type', async () => {
    for (const type of ['system', 'user', 'service', 'integration', 'emergency'] as const) {
      const { secret } = await createKey(ctx, { name: type, type })
      const result = await verifyKey(ctx, { key: secret })
      expect(result.valid && result.key.type).to.equal(type)
    }
  })

  it('given CACHE_MAX_CAPACITY=2 and CACHE_TTL_SECONDS=1, when three keys are verified, then the cache holds two, and after a second a revocation made behind its back is seen', async () => {
    const small = testContext(sql, { clock, env: { CACHE_MAX_CAPACITY: '2', CACHE_TTL_SECONDS: '1' } })
    const keys = await Promise.all([0, 1, 2].map((i) => createKey(small, { name: `cap-${i}`, type: 'service' })))
    for (const k of keys) expect((await verifyKey(small, { key: k.secret })).valid).to.equal(true)
    expect(small.validation.cache.size).to.equal(2)
    // Revoked directly in the database: no event, so only the TTL can end the cached answer.
    await sql`update api_keys set revoked_at = now() where key_id = ${keys[2]!.key.id}`
    expect((await verifyKey(small, { key: keys[2]!.secret })).valid, 'still cached').to.equal(true)
    clock.advance(1100)
    expect(await verifyKey(small, { key: keys[2]!.secret })).to.deep.equal({ valid: false, code: 'REVOKED' })
  })

  describe('verifyKeyInMemory (the synchronous answer of a started runtime)', () => {
    let queries: string[]
    let counted: Sql
    let live: CoreContext
    let liveCore: TestCore

    beforeEach(async () => {
      queries = []
      counted = openTestSql({ onQuery: (q) => queries.push(q) })
      liveCore = testCore(counted, { clock })
      live = liveCore.ctx
      await liveCore.start()
    })

    afterEach(async () => {
      await liveCore.close()
      await counted.end()
    })

    it('given a started runtime, then failure counting is loaded before any refusal; a runtime not started loads it at its first refusal', async () => {
      // In Redis (the run's own prefix) and, without Redis, in PostgreSQL.
      for (const options of [{ redis: true }, { env: { REDIS_URL: '' } }]) {
        const started = testCore(sql, { clock, ...options })
        try {
          await started.start()
          const deadline = Date.now() + 5_000
          while (!started.ctx.validation.failureCountingReady && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
          expect(started.ctx.validation.failureCountingReady, JSON.stringify(options)).to.equal(true)
        } finally {
          await started.close()
        }
      }
      expect(ctx.validation.failureCountingReady).to.equal(false)
      expect(await verifyKey(ctx, { key: generateRawKey('service'), ip: '192.0.2.9' })).to.include({ valid: false, code: 'NOT_FOUND' })
      expect(ctx.validation.failureCountingReady).to.equal(true)
    })

    it('given a runtime that was not started, when asked about a cached key, then it defers (undefined)', async () => {
      const { secret } = await createKey(ctx, { name: 'cold', type: 'service' })
      expect((await verifyKey(ctx, { key: secret })).valid).to.equal(true)
      expect(verifyKeyInMemory(ctx, { key: secret })).to.equal(undefined)
    })

    it('given a cached valid key, when asked, then it answers valid with no query, the same frozen view as verifyKey, one cache hit and one usage event', async () => {
      const { secret, key } = await createKey(ctx, { name: 'hot', type: 'service', scopes: ['read'] })
      const first = await verifyKey(live, { key: secret, ip: '192.0.2.1' })
      queries.length = 0
      const hits = live.validation.cache.hits
      const pending = live.validation.usage.pending
      const answer = verifyKeyInMemory(live, { key: secret, ip: '192.0.2.1', requiredScopes: ['read'] })
      expect(answer).to.deep.equal({ valid: true, key: { id: key.id, name: 'hot', type: 'service', scopes: ['read'], owner: null, expiresAt: null } })
      expect(answer!.valid && first.valid && answer!.key).to.equal(first.valid && first.key)
      expect(Object.isFrozen(answer!.valid && answer!.key)).to.equal(true)
      expect(live.validation.cache.hits).to.equal(hits + 1)
      expect(live.validation.usage.pending).to.equal(pending === 0 ? 1 : pending)
      expect(queries).to.deep.equal([])
    })

    it('given keys it cannot decide from memory (never seen, malformed, wrong length), when asked, then it defers and verifyKey gives NOT_FOUND or MALFORMED', async () => {
      const unseen = generateRawKey('service')
      const cases: Array<[string, string]> = [
        [unseen, 'NOT_FOUND'],
        [breakChecksum(unseen), 'MALFORMED'],
        [`${unseen}x`, 'MALFORMED'],
        ['', 'MALFORMED'],
      ]
      for (const [key, code] of cases) {
        expect(verifyKeyInMemory(live, { key })).to.equal(undefined)
        expect(await verifyKey(live, { key })).to.deep.equal({ valid: false, code })
        // A remembered miss is still not an in-memory answer: the refusal is counted by verifyKey.
        expect(verifyKeyInMemory(live, { key })).to.equal(undefined)
      }
    })

    it('given a cached key that has since expired or lacks a required scope, when asked, then it defers and verifyKey refuses it', async () => {
      const { secret } = await createKey(ctx, { name: 'brief', type: 'service', expiresInSeconds: 60, scopes: ['read'] })
      expect((await verifyKey(live, { key: secret })).valid).to.equal(true)
      expect(verifyKeyInMemory(live, { key: secret, requiredScopes: ['write'] })).to.equal(undefined)
      expect(await verifyKey(live, { key: secret, requiredScopes: ['write'] })).to.deep.equal({ valid: false, code: 'INSUFFICIENT_SCOPE' })
      clock.advance(MINUTE)
      expect(verifyKeyInMemory(live, { key: secret })).to.equal(undefined)
      expect(await verifyKey(live, { key: secret })).to.deep.equal({ valid: false, code: 'EXPIRED' })
    })

    it('given a blacklisted IP and a locked-out IP, when a cached valid key comes from them, then it answers BLACKLISTED and RATE_LIMITED from memory', async () => {
      const { secret } = await createKey(ctx, { name: 'guarded', type: 'service' })
      expect((await verifyKey(live, { key: secret })).valid).to.equal(true)
      await addToBlacklist(live, { target: '198.51.100.0/24' })
      await live.bus.drain()
      expect(verifyKeyInMemory(live, { key: secret, ip: '198.51.100.9' })).to.deep.equal({ valid: false, code: 'BLACKLISTED' })
      const attacker = '203.0.113.66'
      for (let i = 0; i < live.config.rateLimit.maxAttempts; i++) await verifyKey(live, { key: generateRawKey('service'), ip: attacker })
      queries.length = 0
      const answer = verifyKeyInMemory(live, { key: secret, ip: attacker })
      expect(answer).to.include({ valid: false, code: 'RATE_LIMITED' })
      expect(answer && !answer.valid && answer.retryAfterSeconds).to.be.greaterThan(0)
      expect(verifyKeyInMemory(live, { key: secret, ip: '192.0.2.200' })?.valid).to.equal(true)
      expect(queries).to.deep.equal([])
    })

    it('given blacklisted and locked-out IPs answered from memory, when usage is flushed, then each answer is counted by its code and source, and the ok answer adds no failure', async () => {
      const { secret } = await createKey(ctx, { name: 'counted', type: 'service' })
      expect((await verifyKey(live, { key: secret })).valid).to.equal(true)
      await addToBlacklist(live, { target: '198.51.100.0/24' })
      await live.bus.drain()
      const attacker = '203.0.113.67'
      for (let i = 0; i < live.config.rateLimit.maxAttempts; i++) await verifyKey(live, { key: generateRawKey('service'), ip: attacker })
      await live.validation.usage.flush()
      await sql`delete from validation_failure_minute`
      for (let i = 0; i < 2; i++) expect(verifyKeyInMemory(live, { key: secret, ip: '198.51.100.9' })).to.deep.equal({ valid: false, code: 'BLACKLISTED' })
      expect(verifyKeyInMemory(live, { key: secret, ip: attacker })).to.include({ valid: false, code: 'RATE_LIMITED' })
      const failures = live.validation.usage.pendingFailures
      expect(verifyKeyInMemory(live, { key: secret, ip: '192.0.2.201' })?.valid).to.equal(true)
      expect(live.validation.usage.pendingFailures).to.equal(failures)
      await live.validation.usage.flush()
      const rows = await sql`select code, ip, key_id, sum(count)::int as n from validation_failure_minute group by 1, 2, 3 order by 1`
      expect(rows.map((r) => [r.code, r.ip, r.key_id, r.n])).to.deep.equal([
        ['BLACKLISTED', '198.51.100.9', '', 2],
        ['RATE_LIMITED', attacker, '', 1],
      ])
    })

    it('given arbitrary strings and one-character changes of a cached key, when asked, then it never says valid for anything but that key, and any answer matches verifyKey', async () => {
      const { secret } = await createKey(ctx, { name: 'target', type: 'service' })
      expect((await verifyKey(live, { key: secret })).valid).to.equal(true)
      const mutation = fc
        .tuple(fc.nat({ max: secret.length - 1 }), fc.constantFrom(...'0aZ_-.'))
        .map(([i, c]) => secret.slice(0, i) + c + secret.slice(i + 1))
      await fc.assert(
        fc.asyncProperty(fc.oneof(mutation, fc.string({ maxLength: KEY_LENGTH + 2 }), fc.constant(secret)), async (key) => {
          const answer = verifyKeyInMemory(live, { key })
          if (answer === undefined) return key !== secret
          expect(answer.valid).to.equal(key === secret)
          expect(await verifyKey(live, { key })).to.deep.equal(answer)
          return true
        }),
        { numRuns: 300 },
      )
    })
  })
})
