import { expect } from 'chai'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'

import { disableKey, revokeKey } from '../../src/core/api-keys/change-key-state.js'
import { createKey } from '../../src/core/api-keys/create-key.js'
import type { CreateKeyInput } from '../../src/core/api-keys/create-key.js'
import { generateRawKey } from '../../src/core/api-keys/key-format.js'
import { addToBlacklist } from '../../src/core/blacklist/blacklist.js'
import { fixedClock } from '../../src/core/clock.js'
import { loadConfig } from '../../src/core/config.js'
import type { CoreContext } from '../../src/core/context.js'
import type { Sql } from '../../src/core/db/connect.js'
import { connectPostgres } from '../../src/core/db/connect.js'
import { createEventBus } from '../../src/core/events.js'
import { silentLogger } from '../../src/core/log.js'
import type { Redis } from '../../src/core/redis.js'
import { closeRedis, connectRedis } from '../../src/core/redis.js'
import { mirrorValidationState } from '../../src/core/validation/mirrors.js'
import { buildApp } from '../../src/http/app.js'
import { routes } from '../../src/http/routes.js'
import { clearAllLockoutsQuery } from '../../src/http/schemas.js'
import { auditRows, openTestSql, redisTestContext, testCore, testDatabaseUrl, truncateAll } from '../helpers/db.js'

const HOUR = 3_600_000

/**
 * Like testContext(), but wired to the run's real Redis (REDIS_URL / MOMENTRY_REDIS_PREFIX
 * from global-setup), as `momentry serve` is: lockout counters, pub/sub and /readyz all
 * need it. testContext() leaves ctx.redis() undefined while config.redisUrl is set.
 */
/**
 * A fresh source address per test: lockout counters live in Redis for the whole run. On
 * loopback (127.77.x.y), which MOMENTRY_TRUSTED_PROXIES trusts by default, so a test's requests
 * may name a client `ip` as a local proxy does.
 */
let ipCounter = 0
const freshIp = () => {
  ipCounter++
  return `127.77.${Math.floor(ipCounter / 250)}.${(ipCounter % 250) + 1}`
}

describe('HTTP API (buildApp, fastify inject)', () => {
  let sql: Sql
  let clock: ReturnType<typeof fixedClock>
  let ctx: CoreContext
  let closeCtx: () => Promise<void>
  let startCtx: () => Promise<void>
  let app: FastifyInstance
  /** The socket address of this test's requests unless a test says otherwise. */
  let ip: string

  before(() => {
    sql = openTestSql()
  })

  after(async () => {
    await sql.end()
  })

  beforeEach(async () => {
    await truncateAll(sql)
    await sql`truncate ip_blacklist, key_usage_minute`
    clock = fixedClock(new Date())
    ;({ ctx, close: closeCtx, start: startCtx } = redisTestContext(sql, { clock }))
    app = buildApp(ctx, { version: '9.9.9-test' })
    ip = freshIp()
  })

  afterEach(async () => {
    await app.close()
    await closeCtx()
  })

  const inject = (opts: InjectOptions): Promise<LightMyRequestResponse> => app.inject({ remoteAddress: ip, ...opts })
  const verify = (payload: unknown, remoteAddress = ip) => inject({ method: 'POST', url: '/v1/keys/verify', payload: payload as object, remoteAddress })
  const issue = (input: Partial<CreateKeyInput> = {}) => createKey(ctx, { name: 'svc', type: 'service', ...input })
  const issueAdmin = () => createKey(ctx, { name: 'admin', type: 'system', scopes: ['admin'] })
  const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` })

  const expectError = (res: LightMyRequestResponse, status: number, code?: string) => {
    expect(res.statusCode, res.body).to.equal(status)
    const json = res.json()
    expect(json).to.have.all.keys('error')
    expect(json.error).to.have.all.keys('code', 'message')
    expect(json.error.message).to.be.a('string').and.not.match(/\n\s+at /)
    if (code) expect(json.error.code).to.equal(code)
    return json.error as { code: string; message: string }
  }

  describe('POST /v1/keys/verify', () => {
    it('given an active key, when verified, then 200 {valid: true, key} with its id, name, type, scopes, owner and expiry', async () => {
      const { secret, key } = await issue({ name: 'billing', scopes: ['keys:read'], owner: 'team-a' })
      const res = await verify({ key: secret })
      expect(res.statusCode).to.equal(200)
      expect(res.headers['content-type']).to.match(/^application\/json/)
      expect(res.json()).to.deep.equal({
        valid: true,
        key: { id: key.id, name: 'billing', type: 'service', scopes: ['keys:read'], owner: 'team-a', expiresAt: null },
      })
    })

    it('given a revoked key, when verified, then 200 {valid: false, code: REVOKED}', async () => {
      const { secret, key } = await issue()
      await revokeKey(ctx, { id: key.id })
      const res = await verify({ key: secret })
      expect(res.statusCode).to.equal(200)
      expect(res.json()).to.deep.equal({ valid: false, code: 'REVOKED' })
    })

    it('given a disabled key, when verified, then 200 {valid: false, code: DISABLED}', async () => {
      const { secret, key } = await issue()
      await disableKey(ctx, { id: key.id })
      const res = await verify({ key: secret })
      expect(res.statusCode).to.equal(200)
      expect(res.json()).to.deep.equal({ valid: false, code: 'DISABLED' })
    })

    it('given a key past its expiry, when verified, then 200 {valid: false, code: EXPIRED}', async () => {
      const { secret } = await issue({ expiresInSeconds: 60 })
      clock.advance(61_000)
      const res = await verify({ key: secret })
      expect(res.statusCode).to.equal(200)
      expect(res.json()).to.deep.equal({ valid: false, code: 'EXPIRED' })
    })

    it('given a well-formed key that was never issued, when verified, then 200 {valid: false, code: NOT_FOUND}', async () => {
      const res = await verify({ key: generateRawKey('service') })
      expect(res.statusCode).to.equal(200)
      expect(res.json()).to.deep.equal({ valid: false, code: 'NOT_FOUND' })
    })

    it('given a malformed key, when verified, then 200 {valid: false, code: MALFORMED}', async () => {
      const res = await verify({ key: 'mtry_svc_not-a-key' })
      expect(res.statusCode).to.equal(200)
      expect(res.json()).to.deep.equal({ valid: false, code: 'MALFORMED' })
    })

    it('given a key lacking one of requiredScopes, when verified, then {valid: false, code: INSUFFICIENT_SCOPE}', async () => {
      const { secret } = await issue({ scopes: ['keys:read'] })
      const res = await verify({ key: secret, requiredScopes: ['keys:read', 'keys:write'] })
      expect(res.statusCode).to.equal(200)
      expect(res.json()).to.deep.equal({ valid: false, code: 'INSUFFICIENT_SCOPE' })
    })

    it('given a key holding every requiredScope, when verified, then it is valid', async () => {
      const { secret } = await issue({ scopes: ['keys:read', 'keys:write'] })
      const res = await verify({ key: secret, requiredScopes: ['keys:write'] })
      expect(res.json()).to.include({ valid: true })
    })

    it('given a blacklisted CIDR, when a valid key is verified with a body ip inside it, then {valid: false, code: BLACKLISTED}', async () => {
      const { secret } = await issue()
      await addToBlacklist(ctx, { target: '203.0.113.0/24', reason: 'abuse' })
      const res = await verify({ key: secret, ip: '203.0.113.77' })
      expect(res.statusCode).to.equal(200)
      expect(res.json()).to.deep.equal({ valid: false, code: 'BLACKLISTED' })
    })

    it('given a running validation runtime and a CIDR blacklisted after start, when a body ip inside it is verified, then BLACKLISTED from the mirror', async () => {
      const { secret } = await issue()
      await startCtx()
      await addToBlacklist(ctx, { target: '203.0.113.0/24' })
      await ctx.bus.drain()
      expect((await verify({ key: secret, ip: '203.0.113.5' })).json()).to.deep.equal({ valid: false, code: 'BLACKLISTED' })
      expect((await verify({ key: secret, ip: '203.0.114.5' })).json()).to.include({ valid: true })
    })

    it('given a blacklisted socket address, when verified without ip in the body, then the socket address is used and it is BLACKLISTED', async () => {
      const { secret } = await issue()
      await addToBlacklist(ctx, { target: '203.0.113.0/24' })
      const res = await verify({ key: secret }, '203.0.113.9')
      expect(res.json()).to.deep.equal({ valid: false, code: 'BLACKLISTED' })
    })

    it('given a blacklisted address arriving as an IPv4-mapped IPv6 socket address, when verified without ip, then it is BLACKLISTED', async () => {
      const { secret } = await issue()
      await addToBlacklist(ctx, { target: '203.0.113.0/24' })
      const res = await verify({ key: secret }, '::ffff:203.0.113.9')
      expect(res.json()).to.deep.equal({ valid: false, code: 'BLACKLISTED' })
    })

    it('given the default MOMENTRY_TRUSTED_PROXIES, when a loopback caller names a client ip, then that ip counts; from a private-network caller it does not', async () => {
      const { secret } = await issue()
      await addToBlacklist(ctx, { target: '198.51.100.0/24' })
      expect((await verify({ key: secret, ip: '198.51.100.9' }, '127.0.0.1')).json()).to.deep.equal({ valid: false, code: 'BLACKLISTED' })
      expect((await verify({ key: secret, ip: '198.51.100.9' }, '::1')).json()).to.deep.equal({ valid: false, code: 'BLACKLISTED' })
      // Private networks are no longer trusted unless asked for (`private`): a container next door is just a client.
      for (const remote of ['10.99.0.9', '172.20.0.5', '192.168.1.5', 'fd00::5']) {
        expect((await verify({ key: secret, ip: '198.51.100.9' }, remote)).json(), remote).to.include({ valid: true })
      }
    })

    it('given a caller that is not a trusted proxy, when it names a different ip with bad keys, then the failures count against its own address and the named ip stays clean', async () => {
      const { secret } = await issue()
      const caller = '172.20.7.7'
      const named = freshIp()
      for (let i = 0; i < ctx.config.rateLimit.maxAttempts; i++) await verify({ key: 'garbage', ip: named }, caller)
      expect((await verify({ key: secret, ip: freshIp() }, caller)).json()).to.include({ valid: false, code: 'RATE_LIMITED' })
      expect((await verify({ key: secret }, named)).json()).to.include({ valid: true })
    })

    it('given a trusted proxy whose own address is blacklisted, when it names a clean client ip, then it is refused BLACKLISTED', async () => {
      const { secret } = await issue()
      const proxy = freshIp()
      await addToBlacklist(ctx, { target: proxy })
      expect((await verify({ key: secret, ip: '198.51.100.20' }, proxy)).json()).to.deep.equal({ valid: false, code: 'BLACKLISTED' })
      expect((await verify({ key: secret }, proxy)).json()).to.deep.equal({ valid: false, code: 'BLACKLISTED' })
    })

    it('given a trusted proxy that is itself locked out, when it names a fresh client ip, then RATE_LIMITED, and the fresh ip has nothing counted against it', async () => {
      const { secret } = await issue()
      const proxy = freshIp()
      for (let i = 0; i < ctx.config.rateLimit.maxAttempts; i++) await verify({ key: 'garbage' }, proxy)
      const fresh = '198.51.100.77'
      const res = (await verify({ key: secret, ip: fresh }, proxy)).json()
      expect(res).to.include({ valid: false, code: 'RATE_LIMITED' })
      expect(res.retryAfterSeconds).to.be.a('number').above(0)
      // Another proxy may still speak for that client: nothing was counted against it.
      expect((await verify({ key: secret, ip: fresh }, freshIp())).json()).to.include({ valid: true })
    })

    it('given a running validation runtime, when a locked-out trusted proxy names fresh client ips, then each is refused from memory', async () => {
      const { secret } = await issue()
      const proxy = freshIp()
      for (let i = 0; i < ctx.config.rateLimit.maxAttempts; i++) await verify({ key: 'garbage' }, proxy)
      await startCtx()
      for (const fresh of ['198.51.100.31', '198.51.100.32', '2001:db8:77::1']) {
        expect((await verify({ key: secret, ip: fresh }, proxy)).json(), fresh).to.include({ valid: false, code: 'RATE_LIMITED' })
      }
    })

    it('given failures from IPv6 addresses, when two are in the same /64, then they share one counter; in another /64 the count is separate', async () => {
      const { secret } = await issue()
      const net = `2001:db8:${(ipCounter++).toString(16)}:1`
      const max = ctx.config.rateLimit.maxAttempts
      // Every failure from a different address of the same /64.
      for (let i = 0; i < max; i++) await verify({ key: 'garbage', ip: `${net}::${(i + 1).toString(16)}` })
      expect((await verify({ key: secret, ip: `${net}:ffff:ffff:ffff:ffff` })).json()).to.include({ valid: false, code: 'RATE_LIMITED' })
      expect((await verify({ key: secret, ip: `${net.replace(/:1$/, ':2')}::1` })).json()).to.include({ valid: true })
    })

    it('given a caller that is not a trusted proxy (a public address), when it names another ip in the body, then its own address is used: blacklist and lockout cannot be stepped around', async () => {
      const { secret } = await issue()
      await addToBlacklist(ctx, { target: '203.0.113.0/24' })
      expect((await verify({ key: secret, ip: '198.51.100.20' }, '203.0.113.9')).json()).to.deep.equal({ valid: false, code: 'BLACKLISTED' })
      // A fresh made-up address per try still counts against the caller's own.
      const attacker = '198.18.7.7'
      for (let i = 0; i < ctx.config.rateLimit.maxAttempts; i++) await verify({ key: 'garbage', ip: `192.0.2.${i + 1}` }, attacker)
      expect((await verify({ key: secret, ip: '192.0.2.200' }, attacker)).json()).to.include({ valid: false, code: 'RATE_LIMITED' })
    })

    it('given RATE_LIMIT_MAX_ATTEMPTS failures from one IP, when a valid key is verified from it, then RATE_LIMITED with retryAfterSeconds', async () => {
      const max = ctx.config.rateLimit.maxAttempts
      const { secret } = await issue()
      const attacker = freshIp()
      for (let i = 0; i < max; i++) {
        // The failure that uses up the allowance still gets its real answer.
        expect((await verify({ key: 'garbage', ip: attacker })).json(), `attempt ${i + 1}`).to.deep.equal({ valid: false, code: 'MALFORMED' })
      }
      const res = await verify({ key: secret, ip: attacker })
      expect(res.statusCode).to.equal(200)
      const json = res.json()
      expect(json).to.include({ valid: false, code: 'RATE_LIMITED' })
      expect(json.retryAfterSeconds).to.be.a('number').within(1, ctx.config.rateLimit.windowSeconds)
    })

    it('given a running validation runtime, when an IP uses up its failures, then a valid key from it is RATE_LIMITED (from the mirror)', async () => {
      await startCtx()
      const { secret } = await issue()
      for (let i = 0; i < ctx.config.rateLimit.maxAttempts; i++) await verify({ key: generateRawKey('user') })
      const json = (await verify({ key: secret })).json()
      expect(json).to.include({ valid: false, code: 'RATE_LIMITED' })
      expect(json.retryAfterSeconds).to.be.within(1, ctx.config.rateLimit.windowSeconds)
    })

    it('given an IP locked out by failures, when a valid key is verified from another IP, then it is still valid', async () => {
      const { secret } = await issue()
      const attacker = freshIp()
      for (let i = 0; i < ctx.config.rateLimit.maxAttempts; i++) await verify({ key: 'garbage', ip: attacker })
      expect((await verify({ key: secret, ip: attacker })).json()).to.include({ code: 'RATE_LIMITED' })
      expect((await verify({ key: secret })).json()).to.include({ valid: true })
    })

    it('given a body without key, when posted, then 400 USAGE_ERROR naming the field', async () => {
      const err = expectError(await verify({}), 400, 'USAGE_ERROR')
      expect(err.message).to.equal('"key" is required (a string)')
    })

    it('given an ip that is not an address, when posted, then 400 USAGE_ERROR naming ip', async () => {
      const err = expectError(await verify({ key: 'x', ip: 'not-an-ip' }), 400, 'USAGE_ERROR')
      expect(err.message).to.match(/^"ip" /)
    })

    it('given a malformed scope in requiredScopes, when posted, then 400 USAGE_ERROR', async () => {
      expectError(await verify({ key: 'x', requiredScopes: ['Not A Scope'] }), 400, 'USAGE_ERROR')
    })

    it('given a key that is not a string, when posted, then 400 USAGE_ERROR', async () => {
      expectError(await verify({ key: 42 }), 400, 'USAGE_ERROR')
    })

    it('given an unknown field, when posted, then 400 USAGE_ERROR', async () => {
      const err = expectError(await verify({ key: 'x', admin: true }), 400, 'USAGE_ERROR')
      expect(err.message).to.include('admin')
    })

    it('given invalid JSON, when posted, then 400 with the {error: {code, message}} shape', async () => {
      const res = await inject({ method: 'POST', url: '/v1/keys/verify', headers: { 'content-type': 'application/json' }, payload: '{"key": ' })
      expectError(res, 400)
    })

    it('given a body over 16 KiB, when posted, then 413 PAYLOAD_TOO_LARGE', async () => {
      const res = await verify({ key: 'x'.repeat(17 * 1024) })
      expectError(res, 413, 'PAYLOAD_TOO_LARGE')
    })

    it('given an application/xml body, when posted, then 415 UNSUPPORTED_MEDIA_TYPE', async () => {
      const res = await inject({ method: 'POST', url: '/v1/keys/verify', headers: { 'content-type': 'application/xml' }, payload: '<key>x</key>' })
      expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE')
    })

    it('given a text/plain body, when posted, then 415 UNSUPPORTED_MEDIA_TYPE (not a 400 from parsing it as a string)', async () => {
      const res = await inject({ method: 'POST', url: '/v1/keys/verify', headers: { 'content-type': 'text/plain' }, payload: 'mtry_svc_x' })
      expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE')
    })
  })

  describe('MOMENTRY_TRUSTED_PROXIES', () => {
    const appWith = async (value: string) => {
      const { ctx: c, close } = redisTestContext(sql, { clock, env: { MOMENTRY_TRUSTED_PROXIES: value } })
      return { c, a: buildApp(c), close }
    }

    it('given none, then even a private caller’s body ip is ignored; given a CIDR, then only callers inside it are believed; given any, then everyone is', async () => {
      await addToBlacklist(ctx, { target: '198.51.100.0/24' })
      for (const [value, remote, believed] of [
        ['none', '10.1.2.3', false],
        ['203.0.113.0/24', '203.0.113.50', true],
        ['203.0.113.0/24', '10.1.2.3', false],
        ['loopback', '127.0.0.1', true],
        ['any', '198.18.0.1', true],
      ] as const) {
        const { c, a, close } = await appWith(value)
        try {
          const { secret } = await createKey(c, { name: `p-${value}`, type: 'service' })
          const res = await a.inject({ method: 'POST', url: '/v1/keys/verify', payload: { key: secret, ip: '198.51.100.9' }, remoteAddress: remote })
          expect(res.json(), `${value} from ${remote}`).to.deep.include(believed ? { valid: false, code: 'BLACKLISTED' } : { valid: true })
        } finally {
          await a.close()
          await close()
        }
      }
    })

    it('given a value that is not a list of networks, then loading the config fails naming the variable', () => {
      expect(() => loadConfig({ ...process.env, MOMENTRY_TRUSTED_PROXIES: '10.0.0.0/8,nonsense' })).to.throw(/MOMENTRY_TRUSTED_PROXIES is invalid: expected any, none/)
    })

    it('given private, when a private-network caller names a client ip, then it is believed', async () => {
      await addToBlacklist(ctx, { target: '198.51.100.0/24' })
      const { c, a, close } = await appWith('private')
      try {
        const { secret } = await createKey(c, { name: 'p-private', type: 'service' })
        const res = await a.inject({ method: 'POST', url: '/v1/keys/verify', payload: { key: secret, ip: '198.51.100.9' }, remoteAddress: '172.20.0.9' })
        expect(res.json()).to.deep.equal({ valid: false, code: 'BLACKLISTED' })
      } finally {
        await a.close()
        await close()
      }
    })
  })

  describe('MOMENTRY_IPV6_LOCKOUT_PREFIX', () => {
    it('given 128, when two addresses of one /64 fail, then each has its own counter', async () => {
      const { ctx: c, close } = redisTestContext(sql, { clock, env: { MOMENTRY_IPV6_LOCKOUT_PREFIX: '128' } })
      const a = buildApp(c)
      try {
        const { secret } = await createKey(c, { name: 'p128', type: 'service' })
        const net = `2001:db8:${(ipCounter++).toString(16)}:128`
        for (let i = 0; i < c.config.rateLimit.maxAttempts; i++) await a.inject({ method: 'POST', url: '/v1/keys/verify', payload: { key: 'garbage', ip: `${net}::1` }, remoteAddress: '127.0.0.1' })
        const verifyFrom = async (client: string) => (await a.inject({ method: 'POST', url: '/v1/keys/verify', payload: { key: secret, ip: client }, remoteAddress: '127.0.0.1' })).json()
        expect(await verifyFrom(`${net}::1`)).to.include({ valid: false, code: 'RATE_LIMITED' })
        expect(await verifyFrom(`${net}::2`)).to.include({ valid: true })
      } finally {
        await a.close()
        await close()
      }
    })

    it('given a value that is not a whole number from 1 to 128, then loading the config fails naming the variable', () => {
      for (const bad of ['0', '129', '64.5', '-1', '/64', 'x']) {
        expect(() => loadConfig({ ...process.env, MOMENTRY_IPV6_LOCKOUT_PREFIX: bad }), bad).to.throw(/MOMENTRY_IPV6_LOCKOUT_PREFIX is invalid/)
      }
      expect(loadConfig({ ...process.env, MOMENTRY_IPV6_LOCKOUT_PREFIX: '48' }).rateLimit.ipv6Prefix).to.equal(48)
      expect(loadConfig({ ...process.env, MOMENTRY_IPV6_LOCKOUT_PREFIX: undefined }).rateLimit.ipv6Prefix).to.equal(64)
    })
  })

  describe('POST /v1/usage', () => {
    it('given a valid report, when posted, then 202 {accepted: true} and after a flush key_usage_minute holds the counts', async () => {
      const { key } = await issue()
      const r1 = await inject({ method: 'POST', url: '/v1/usage', payload: { keyId: key.id, ip: '192.0.2.10', ok: true } })
      const r2 = await inject({ method: 'POST', url: '/v1/usage', payload: { keyId: key.id, ip: '192.0.2.11', ok: false } })
      const r3 = await inject({ method: 'POST', url: '/v1/usage', payload: { keyId: key.id, ip: '2001:db8::1', ok: true } })
      for (const r of [r1, r2, r3]) {
        expect(r.statusCode, r.body).to.equal(202)
        expect(r.json()).to.deep.equal({ accepted: true })
      }
      await ctx.validation.usage.flush()
      const t = clock.now().getTime()
      const rows = await sql`select key_id, minute, ok_count, fail_count from key_usage_minute`
      expect(rows.map((r) => ({ ...r }))).to.deep.equal([{ key_id: key.id, minute: new Date(t - (t % 60_000)), ok_count: 2, fail_count: 1 }])
    })

    it('given a report from a caller that is not a trusted proxy, when flushed, then the counts are kept but its ip is not', async () => {
      const { key } = await issue()
      const res = await inject({ method: 'POST', url: '/v1/usage', payload: { keyId: key.id, ip: '192.0.2.10', ok: true }, remoteAddress: '198.18.0.9' })
      expect(res.statusCode).to.equal(202)
      expect(ctx.validation.usage.pending).to.equal(1)
      const buckets = [...(ctx.validation.usage as any).buckets.values()].flatMap((m: Map<string, any>) => [...m.values()])
      expect([...buckets[0].ips]).to.deep.equal([])
    })

    it('given a well-formed keyId that is no key, when posted, then 404 NOT_FOUND and nothing is buffered', async () => {
      const res = await inject({ method: 'POST', url: '/v1/usage', payload: { keyId: 'key_AAAAAAAAAAAAAAAA', ip: '192.0.2.10', ok: false } })
      expect(expectError(res, 404, 'NOT_FOUND').message).to.match(/no API key with id key_AAAAAAAAAAAAAAAA/)
      expect(ctx.validation.usage.pending).to.equal(0)
    })

    it('given a keyId that is not a key id, when posted, then 400 USAGE_ERROR naming keyId', async () => {
      const res = await inject({ method: 'POST', url: '/v1/usage', payload: { keyId: 'nope', ip: '192.0.2.10', ok: true } })
      expect(expectError(res, 400, 'USAGE_ERROR').message).to.equal('"keyId" must be a key id (key_…)')
    })

    it('given an ip that is not an address, when posted, then 400 USAGE_ERROR naming ip', async () => {
      const res = await inject({ method: 'POST', url: '/v1/usage', payload: { keyId: 'key_0123456789abcdef', ip: '999.1.1.1', ok: true } })
      expect(expectError(res, 400, 'USAGE_ERROR').message).to.match(/^"ip" /)
    })

    it('given a report missing ok, when posted, then 400 and nothing is buffered', async () => {
      const res = await inject({ method: 'POST', url: '/v1/usage', payload: { keyId: 'key_0123456789abcdef', ip: '192.0.2.10' } })
      expectError(res, 400, 'USAGE_ERROR')
      expect(ctx.validation.usage.pending).to.equal(0)
    })
  })

  describe('admin routes', () => {
    const SOME_ID = 'key_0123456789abcdef'
    /** One request per admin route, bodies valid so that only authorisation decides. */
    const adminRequests = (): InjectOptions[] =>
      routes
        .filter((r) => r.admin)
        .map((r) => {
          const url = r.path.replace('{id}', SOME_ID).replace('{ip}', '203.0.113.7') + (r.query === clearAllLockoutsQuery ? '?all=true' : '')
          const method = r.method.toUpperCase() as 'GET'
          const payload =
            r.method === 'post' && r.path === '/v1/admin/api-keys' ? { name: 'x', type: 'user' } : r.method === 'patch' ? { enabled: false } : r.method === 'post' ? {} : undefined
          return { method, url, ...(payload ? { payload } : {}) }
        })

    it('given no Authorization header, when any admin route is called, then 401 UNAUTHORIZED', async () => {
      const requests = adminRequests()
      expect(requests).to.have.length(12)
      for (const req of requests) {
        const res = await inject(req)
        expectError(res, 401, 'UNAUTHORIZED')
      }
    })

    it('given no Authorization header and an invalid body or query, when an admin route is called, then 401 before any input validation', async () => {
      expectError(await inject({ method: 'POST', url: '/v1/admin/api-keys', payload: {} }), 401, 'UNAUTHORIZED')
      expectError(await inject({ method: 'GET', url: '/v1/admin/api-keys?limit=0' }), 401, 'UNAUTHORIZED')
    })

    it('given a non-bearer Authorization header, when the key list is requested, then 401 UNAUTHORIZED', async () => {
      const { secret } = await issueAdmin()
      const res = await inject({ method: 'GET', url: '/v1/admin/api-keys', headers: { authorization: `Basic ${secret}` } })
      expectError(res, 401, 'UNAUTHORIZED')
    })

    it('given a valid key without the admin scope, when any admin route is called, then 403 FORBIDDEN', async () => {
      const { secret } = await issue({ scopes: ['keys:read'] })
      // Each refusal counts as a failed attempt from its IP: one address per request keeps clear of the lockout.
      for (const req of adminRequests()) {
        expectError(await inject({ ...req, headers: bearer(secret), remoteAddress: freshIp() }), 403, 'FORBIDDEN')
      }
    })

    it('given a revoked admin key, when the key list is requested, then 401 with code REVOKED', async () => {
      const { secret, key } = await issueAdmin()
      await revokeKey(ctx, { id: key.id })
      const res = await inject({ method: 'GET', url: '/v1/admin/api-keys', headers: bearer(secret) })
      expectError(res, 401, 'REVOKED')
    })

    it('given an unknown bearer key, when the key list is requested, then 401', async () => {
      const res = await inject({ method: 'GET', url: '/v1/admin/api-keys', headers: bearer(generateRawKey('system')) })
      expectError(res, 401, 'NOT_FOUND')
    })

    it('given an admin key from a blacklisted address, when the key list is requested, then 403 BLACKLISTED', async () => {
      const { secret } = await issueAdmin()
      await addToBlacklist(ctx, { target: ip })
      const res = await inject({ method: 'GET', url: '/v1/admin/api-keys', headers: bearer(secret) })
      expectError(res, 403, 'BLACKLISTED')
    })

    it('given an address locked out by failures, when a good admin key is used from it, then 429 RATE_LIMITED with Retry-After', async () => {
      const { secret } = await issueAdmin()
      for (let i = 0; i < ctx.config.rateLimit.maxAttempts; i++) await verify({ key: 'garbage' })
      const res = await inject({ method: 'GET', url: '/v1/admin/api-keys', headers: bearer(secret) })
      expectError(res, 429, 'RATE_LIMITED')
      expect(Number(res.headers['retry-after'])).to.be.within(1, ctx.config.rateLimit.windowSeconds)
    })

    describe('with an admin key', () => {
      let admin: Awaited<ReturnType<typeof issueAdmin>>
      const asAdmin = (opts: InjectOptions) => inject({ ...opts, headers: { ...bearer(admin.secret), ...opts.headers } })

      beforeEach(async () => {
        admin = await issueAdmin()
      })

      it('given five keys, when listed with limit 2 and the cursor followed, then every key comes once, newest first, and the last page has no cursor', async () => {
        const ids = [admin.key.id]
        for (let i = 0; i < 4; i++) ids.push((await issue({ name: `k${i}` })).key.id)
        const seen: string[] = []
        let cursor: string | null = null
        let pages = 0
        do {
          const url: string = `/v1/admin/api-keys?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
          const res = await asAdmin({ method: 'GET', url })
          expect(res.statusCode, res.body).to.equal(200)
          const page = res.json()
          expect(page.items.length).to.be.at.most(2)
          seen.push(...page.items.map((k: { id: string }) => k.id))
          cursor = page.nextCursor
          pages++
        } while (cursor && pages < 10)
        expect(pages).to.equal(3)
        expect(seen).to.deep.equal([...ids].reverse())
      })

      it('given keys of several types, when listed with type=system, then only system keys come back', async () => {
        await issue()
        const res = await asAdmin({ method: 'GET', url: '/v1/admin/api-keys?type=system' })
        expect(res.statusCode).to.equal(200)
        expect(res.json().items.map((k: { id: string }) => k.id)).to.deep.equal([admin.key.id])
        expect(res.json().nextCursor).to.equal(null)
      })

      it('given a limit of 0 or a bogus cursor, when listed, then 400 USAGE_ERROR', async () => {
        expectError(await asAdmin({ method: 'GET', url: '/v1/admin/api-keys?limit=0' }), 400, 'USAGE_ERROR')
        expectError(await asAdmin({ method: 'GET', url: '/v1/admin/api-keys?cursor=bogus' }), 400, 'USAGE_ERROR')
      })

      it('given a create request, when posted, then 201 with the secret once and the key created by api:<admin key id>', async () => {
        const res = await asAdmin({ method: 'POST', url: '/v1/admin/api-keys', payload: { name: 'ci', type: 'service', scopes: ['deploy'], owner: 'ops', expiresIn: '30d' } })
        expect(res.statusCode, res.body).to.equal(201)
        const body = res.json()
        expect(body).to.have.all.keys('secret', 'key')
        expect(body.secret).to.match(/^mtry_svc_/)
        expect(body.key).to.include({ name: 'ci', type: 'service', status: 'active', owner: 'ops', createdBy: `api:${admin.key.id}` })
        expect(body.key.scopes).to.deep.equal(['deploy'])
        expect(body.key.expiresAt).to.equal(new Date(clock.now().getTime() + 30 * 24 * HOUR).toISOString())
        const audit = await sql`select action, actor from api_key_audit_log where key_id = ${body.key.id}`
        expect(audit.map((r) => ({ ...r }))).to.deep.equal([{ action: 'key.create', actor: `api:${admin.key.id}` }])
        expect((await verify({ key: body.secret })).json()).to.include({ valid: true })
      })

      it('given a create body with an unknown type, when posted, then 400 USAGE_ERROR and no key is created', async () => {
        const res = await asAdmin({ method: 'POST', url: '/v1/admin/api-keys', payload: { name: 'ci', type: 'superuser' } })
        expectError(res, 400, 'USAGE_ERROR')
        const [row] = await sql`select count(*)::int as n from api_keys`
        expect(row!.n).to.equal(1)
      })

      it('given a key, when shown, then 200 with the key and its history', async () => {
        const { key } = await issue({ name: 'shown' })
        await disableKey(ctx, { id: key.id, reason: 'maintenance' })
        const res = await asAdmin({ method: 'GET', url: `/v1/admin/api-keys/${key.id}` })
        expect(res.statusCode, res.body).to.equal(200)
        const body = res.json()
        expect(body.key).to.include({ id: key.id, name: 'shown', status: 'disabled', disabledReason: 'maintenance' })
        expect(body.history.map((h: { action: string; actor: string }) => [h.action, h.actor])).to.deep.equal([
          ['key.create', 'test:runner'],
          ['key.disable', 'test:runner'],
        ])
        expect(body.history[1].details).to.deep.equal({ reason: 'maintenance' })
      })

      it('given an active key, when PATCHed enabled:false, then it is disabled, audited as the admin key, and verify says DISABLED', async () => {
        const { secret, key } = await issue()
        const res = await asAdmin({ method: 'PATCH', url: `/v1/admin/api-keys/${key.id}`, payload: { enabled: false, reason: 'paused' } })
        expect(res.statusCode, res.body).to.equal(200)
        expect(res.json()).to.have.all.keys('key')
        expect(res.json().key).to.include({ id: key.id, status: 'disabled', disabledReason: 'paused' })
        const [row] = await sql`select actor from api_key_audit_log where key_id = ${key.id} and action = 'key.disable'`
        expect(row!.actor).to.equal(`api:${admin.key.id}`)
        expect((await verify({ key: secret })).json()).to.deep.equal({ valid: false, code: 'DISABLED' })
      })

      it('given a disabled key, when PATCHed enabled:true, then it is active again and verifies', async () => {
        const { secret, key } = await issue()
        await disableKey(ctx, { id: key.id })
        const res = await asAdmin({ method: 'PATCH', url: `/v1/admin/api-keys/${key.id}`, payload: { enabled: true } })
        expect(res.statusCode, res.body).to.equal(200)
        expect(res.json().key).to.include({ id: key.id, status: 'active', disabledAt: null })
        expect((await verify({ key: secret })).json()).to.include({ valid: true })
      })

      it('given an active key, when PATCHed enabled:true, then 409 CONFLICT', async () => {
        const { key } = await issue()
        expectError(await asAdmin({ method: 'PATCH', url: `/v1/admin/api-keys/${key.id}`, payload: { enabled: true } }), 409, 'CONFLICT')
      })

      it('given a key, when DELETEd with ?reason=, then it is revoked with that reason and verify says REVOKED', async () => {
        const { secret, key } = await issue()
        expect((await verify({ key: secret })).json()).to.include({ valid: true }) // now cached
        const res = await asAdmin({ method: 'DELETE', url: `/v1/admin/api-keys/${key.id}?reason=leaked%20in%20a%20log` })
        expect(res.statusCode, res.body).to.equal(200)
        expect(res.json()).to.have.all.keys('key')
        expect(res.json().key).to.include({ id: key.id, status: 'revoked', revokedReason: 'leaked in a log' })
        const [row] = await auditRows(sql, { keyId: key.id, action: 'key.revoke' })
        expect(row!.actor).to.equal(`api:${admin.key.id}`)
        expect((await verify({ key: secret })).json()).to.deep.equal({ valid: false, code: 'REVOKED' })
      })

      it('given a revoked key, when DELETEd again, then 409 CONFLICT', async () => {
        const { key } = await issue()
        expect((await asAdmin({ method: 'DELETE', url: `/v1/admin/api-keys/${key.id}` })).statusCode).to.equal(200)
        expectError(await asAdmin({ method: 'DELETE', url: `/v1/admin/api-keys/${key.id}` }), 409, 'CONFLICT')
      })

      it('given a key, when rotated with grace 1h, then 200 with a new secret and the old key rotating for one hour, both valid', async () => {
        const old = await issue({ name: 'rot', scopes: ['a'] })
        const res = await asAdmin({ method: 'POST', url: `/v1/admin/api-keys/${old.key.id}/rotate`, payload: { grace: '1h', reason: 'routine' } })
        expect(res.statusCode, res.body).to.equal(200)
        const body = res.json()
        expect(body).to.have.all.keys('secret', 'key', 'previous')
        expect(body.secret).to.match(/^mtry_svc_/).and.not.equal(old.secret)
        expect(body.key).to.include({ name: 'rot', status: 'active', rotatedFrom: old.key.id, createdBy: `api:${admin.key.id}` })
        const graceEnd = new Date(clock.now().getTime() + HOUR).toISOString()
        expect(body.previous).to.include({ id: old.key.id, status: 'rotating', replacedBy: body.key.id, graceExpiresAt: graceEnd })
        expect((await verify({ key: body.secret })).json()).to.include({ valid: true })
        const oldResult = (await verify({ key: old.secret })).json()
        expect(oldResult).to.include({ valid: true })
        expect(oldResult.key.rotating).to.deep.equal({ graceExpiresAt: graceEnd, replacedBy: body.key.id })
      })

      it('given a key, when rotated with force true, then the old key is revoked at once and verify says REVOKED', async () => {
        const old = await issue()
        expect((await verify({ key: old.secret })).json()).to.include({ valid: true }) // now cached
        const res = await asAdmin({ method: 'POST', url: `/v1/admin/api-keys/${old.key.id}/rotate`, payload: { force: true } })
        expect(res.statusCode, res.body).to.equal(200)
        const body = res.json()
        expect(body.previous).to.include({ id: old.key.id, status: 'revoked', graceExpiresAt: null })
        expect((await verify({ key: old.secret })).json()).to.deep.equal({ valid: false, code: 'REVOKED' })
        expect((await verify({ key: body.secret })).json()).to.include({ valid: true })
      })

      it('given a key, when rotated with both force and grace, then 400 USAGE_ERROR and nothing changes', async () => {
        const old = await issue()
        const res = await asAdmin({ method: 'POST', url: `/v1/admin/api-keys/${old.key.id}/rotate`, payload: { force: true, grace: '1h' } })
        expectError(res, 400, 'USAGE_ERROR')
        const [row] = await sql`select count(*)::int as n from api_keys`
        expect(row!.n).to.equal(2)
      })

      it('given a rotated key, when rotated again, then 409 CONFLICT', async () => {
        const old = await issue()
        expect((await asAdmin({ method: 'POST', url: `/v1/admin/api-keys/${old.key.id}/rotate`, payload: {} })).statusCode).to.equal(200)
        expectError(await asAdmin({ method: 'POST', url: `/v1/admin/api-keys/${old.key.id}/rotate`, payload: {} }), 409, 'CONFLICT')
      })

      it('given a well-formed id with no key, when shown, patched, revoked or rotated, then 404 NOT_FOUND', async () => {
        const url = `/v1/admin/api-keys/${SOME_ID}`
        const requests: InjectOptions[] = [
          { method: 'GET', url },
          { method: 'PATCH', url, payload: { enabled: false } },
          { method: 'DELETE', url },
          { method: 'POST', url: `${url}/rotate`, payload: {} },
        ]
        for (const req of requests) expectError(await asAdmin(req), 404, 'NOT_FOUND')
      })

      it('given a missing or malformed id, or a second revocation, then the message says what was wrong and names no CLI command', async () => {
        const { key } = await issue()
        await revokeKey(ctx, { id: key.id })
        const answers = [
          expectError(await asAdmin({ method: 'GET', url: `/v1/admin/api-keys/${SOME_ID}` }), 404, 'NOT_FOUND'),
          expectError(await asAdmin({ method: 'GET', url: '/v1/admin/api-keys/not-a-key-id' }), 400, 'USAGE_ERROR'),
          expectError(await asAdmin({ method: 'POST', url: `/v1/admin/api-keys/${key.id}/rotate`, payload: {} }), 409, 'CONFLICT'),
        ]
        expect(answers.map((a) => a.message)).to.deep.equal([`no API key with id ${SOME_ID}`, '"not-a-key-id" is not a key id', `key ${key.id} is revoked and cannot be rotated`])
      })

      it('given a malformed id, when shown, patched, revoked or rotated, then 400 USAGE_ERROR', async () => {
        const url = `/v1/admin/api-keys/not-a-key-id`
        const requests: InjectOptions[] = [
          { method: 'GET', url },
          { method: 'PATCH', url, payload: { enabled: false } },
          { method: 'DELETE', url },
          { method: 'POST', url: `${url}/rotate`, payload: {} },
        ]
        for (const req of requests) expectError(await asAdmin(req), 400, 'USAGE_ERROR')
      })

      it('given no anomalies, when listed, then 200 {items: []}', async () => {
        const res = await asAdmin({ method: 'GET', url: '/v1/admin/anomalies' })
        expect(res.statusCode, res.body).to.equal(200)
        expect(res.json()).to.deep.equal({ items: [] })
      })

      it('given an anomaly row, when listed, then it comes back in the API shape', async () => {
        const { key } = await issue()
        const first = new Date('2031-06-15T08:00:00.000Z')
        const last = new Date('2031-06-15T08:05:00.000Z')
        await sql`
          insert into api_key_anomalies (anomaly_id, key_id, anomaly_type, severity, observed, threshold, window_seconds, first_seen_at, last_seen_at, count)
          values ('anm_test1', ${key.id}, 'high_error_rate', 'high', 0.75, 0.5, 300, ${first}, ${last}, 3)`
        const res = await asAdmin({ method: 'GET', url: '/v1/admin/anomalies' })
        expect(res.statusCode, res.body).to.equal(200)
        expect(res.json()).to.deep.equal({
          items: [
            {
              id: 'anm_test1',
              keyId: key.id,
              keyName: 'svc',
              type: 'high_error_rate',
              severity: 'high',
              observed: 0.75,
              threshold: 0.5,
              windowSeconds: 300,
              firstSeenAt: first.toISOString(),
              lastSeenAt: last.toISOString(),
              count: 3,
              status: 'open',
            },
          ],
        })
      })

      it('given an anomaly of another type, when listed with type=multiple_ips, then it is filtered out', async () => {
        const { key } = await issue()
        await sql`
          insert into api_key_anomalies (anomaly_id, key_id, anomaly_type, severity, observed, threshold, window_seconds, first_seen_at, last_seen_at)
          values ('anm_test2', ${key.id}, 'high_error_rate', 'low', 1, 1, 60, now(), now())`
        const res = await asAdmin({ method: 'GET', url: '/v1/admin/anomalies?type=multiple_ips' })
        expect(res.json()).to.deep.equal({ items: [] })
      })

      it('given an unknown anomaly filter, when listed, then 400 USAGE_ERROR', async () => {
        expectError(await asAdmin({ method: 'GET', url: '/v1/admin/anomalies?severity=apocalyptic' }), 400, 'USAGE_ERROR')
      })

      it('given keys created and one revoked, when the audit trail is read with filters and a cursor, then the rows come decrypted, oldest first, a page at a time', async () => {
        const { key } = await issue()
        await asAdmin({ method: 'DELETE', url: `/v1/admin/api-keys/${key.id}?reason=audit%20over%20http` })
        const all = await asAdmin({ method: 'GET', url: '/v1/admin/audit' })
        expect(all.statusCode, all.body).to.equal(200)
        const events = all.json().items as Array<{ seq: number; action: string; keyId: string; details: Record<string, unknown> }>
        expect(events.map((e) => e.seq)).to.deep.equal(events.map((_, i) => i + 1))
        const revoke = await asAdmin({ method: 'GET', url: `/v1/admin/audit?key=${key.id}&action=key.revoke` })
        expect(revoke.json().items.map((e: { action: string; details: unknown }) => [e.action, e.details])).to.deep.equal([['key.revoke', { reason: 'audit over http' }]])
        const first = await asAdmin({ method: 'GET', url: '/v1/admin/audit?limit=1' })
        expect(first.json().items).to.have.length(1)
        const next = await asAdmin({ method: 'GET', url: `/v1/admin/audit?limit=1&cursor=${first.json().nextCursor}` })
        expect(next.json().items[0].seq).to.equal(first.json().items[0].seq + 1)
        expectError(await asAdmin({ method: 'GET', url: '/v1/admin/audit?since=yesterday' }), 400, 'USAGE_ERROR')
      })
    })
  })

  describe('secrets', () => {
    it('given a key created and rotated over HTTP, when every other route answers, then no response contains either raw key', async () => {
      const admin = await issueAdmin()
      const headers = bearer(admin.secret)
      const created = await inject({ method: 'POST', url: '/v1/admin/api-keys', headers, payload: { name: 'sec', type: 'user' } })
      const { secret, key } = created.json()
      expect(created.body).to.include(secret)
      const rotated = await inject({ method: 'POST', url: `/v1/admin/api-keys/${key.id}/rotate`, headers, payload: { grace: '1h' } })
      const next = rotated.json()
      expect(rotated.body).to.include(next.secret)
      const others = [
        await inject({ method: 'GET', url: '/v1/admin/api-keys', headers }),
        await inject({ method: 'GET', url: `/v1/admin/api-keys/${key.id}`, headers }),
        await inject({ method: 'GET', url: `/v1/admin/api-keys/${next.key.id}`, headers }),
        await verify({ key: secret }),
        await verify({ key: next.secret }),
        await inject({ method: 'PATCH', url: `/v1/admin/api-keys/${next.key.id}`, headers, payload: { enabled: false } }),
        await inject({ method: 'DELETE', url: `/v1/admin/api-keys/${next.key.id}`, headers }),
        await inject({ method: 'GET', url: '/v1/admin/anomalies', headers }),
        await inject({ method: 'GET', url: '/metrics' }),
      ]
      for (const res of others) {
        expect(res.statusCode, res.body).to.be.below(400)
        for (const s of [secret, next.secret, admin.secret]) expect(res.body).not.to.include(s)
      }
    })
  })

  describe('GET /openapi.json', () => {
    it('given the app, when /openapi.json is fetched, then it is OpenAPI 3.1.0 with the app version', async () => {
      const res = await inject({ method: 'GET', url: '/openapi.json' })
      expect(res.statusCode).to.equal(200)
      expect(res.json()).to.include({ openapi: '3.1.0' })
      expect(res.json().info.version).to.equal('9.9.9-test')
    })

    it('given the route table, when /openapi.json is fetched, then every route and the ops endpoints have a path entry with their method', async () => {
      const doc = (await inject({ method: 'GET', url: '/openapi.json' })).json()
      for (const r of routes) {
        expect(doc.paths, r.path).to.have.property(r.path)
        expect(doc.paths[r.path], `${r.method} ${r.path}`).to.have.property(r.method)
        const responses = doc.paths[r.path][r.method].responses
        expect(responses, `${r.method} ${r.path}`).to.have.property(String(r.status))
        expect(responses, `${r.method} ${r.path}`).to.include.keys(['503', ...r.errors.map(String), ...(r.body ? ['415'] : [])])
      }
      for (const p of ['/healthz', '/readyz', '/metrics', '/docs', '/docs/{file}']) expect(doc.paths[p], p).to.have.property('get')
    })

    it('given admin routes, when /openapi.json is fetched, then exactly those require the bearer scheme', async () => {
      const doc = (await inject({ method: 'GET', url: '/openapi.json' })).json()
      expect(doc.components.securitySchemes.adminKey).to.include({ type: 'http', scheme: 'bearer' })
      for (const r of routes) {
        const op = doc.paths[r.path][r.method]
        if (r.admin) expect(op.security, r.path).to.deep.equal([{ adminKey: [] }])
        else expect(op.security, r.path).to.equal(undefined)
      }
    })

    it('given the zod schemas, when /openapi.json is fetched, then components.schemas has VerifyResult, ApiKey and Error', async () => {
      const doc = (await inject({ method: 'GET', url: '/openapi.json' })).json()
      expect(doc.components.schemas).to.include.keys('VerifyResult', 'ApiKey', 'Error')
    })
  })

  describe('GET /docs', () => {
    it('given the app, when /docs is fetched, then 200 HTML that loads swagger-ui', async () => {
      const res = await inject({ method: 'GET', url: '/docs' })
      expect(res.statusCode).to.equal(200)
      expect(res.headers['content-type']).to.match(/^text\/html/)
      expect(res.body).to.include('swagger-ui').and.include('/openapi.json')
    })

    it('given swagger-ui-dist, when /docs/swagger-ui.css is fetched, then 200 text/css', async () => {
      const res = await inject({ method: 'GET', url: '/docs/swagger-ui.css' })
      expect(res.statusCode).to.equal(200)
      expect(res.headers['content-type']).to.match(/^text\/css/)
      expect(res.body.length).to.be.above(1000)
    })

    it('given a path-traversal attempt, when /docs/../package.json (plain or encoded) is fetched, then 404 and no file leaks', async () => {
      for (const url of ['/docs/../package.json', '/docs/..%2Fpackage.json', '/docs/..%2F..%2F..%2Fpackage.json']) {
        const res = await inject({ method: 'GET', url })
        expectError(res, 404, 'NOT_FOUND')
        expect(res.body, url).not.to.include('"dependencies"')
      }
    })

    it('given a file not on the list, when /docs/nope.js is fetched, then 404 NOT_FOUND', async () => {
      expectError(await inject({ method: 'GET', url: '/docs/nope.js' }), 404, 'NOT_FOUND')
    })

    it('given the name of a built-in object member, when /docs/<name> is fetched, then 404 NOT_FOUND and nothing is logged as an error', async () => {
      const errors: string[] = []
      const logged = { ...ctx, log: { ...silentLogger, error: (m: string) => void errors.push(m) } }
      const a = buildApp(logged)
      try {
        for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', '__defineGetter__', 'propertyIsEnumerable', 'toLocaleString']) {
          expectError(await a.inject({ method: 'GET', url: `/docs/${name}`, remoteAddress: ip }), 404, 'NOT_FOUND')
        }
      } finally {
        await a.close()
      }
      expect(errors).to.deep.equal([])
    })
  })

  describe('GET /metrics', () => {
    it('given two valid and one unknown-key verifies, when /metrics is scraped, then the outcome counters, cache counters and latency histogram match', async () => {
      const { secret } = await issue()
      await verify({ key: secret })
      await verify({ key: secret })
      await verify({ key: generateRawKey('service') })
      const res = await inject({ method: 'GET', url: '/metrics' })
      expect(res.statusCode).to.equal(200)
      expect(res.headers['content-type']).to.match(/^text\/plain/)
      const text = res.body
      expect(text).to.match(/^momentry_validations_total\{outcome="valid"\} 2$/m)
      expect(text).to.match(/^momentry_validations_total\{outcome="NOT_FOUND"\} 1$/m)
      expect(text).to.match(/^momentry_cache_hits_total 1$/m)
      expect(text).to.match(/^momentry_cache_misses_total 2$/m)
      expect(text).to.match(/^# TYPE momentry_validation_duration_seconds histogram$/m)
      expect(text).to.match(/^momentry_validation_duration_seconds_count\{outcome="valid"\} 2$/m)
      expect(text).to.match(/^momentry_validation_duration_seconds_bucket\{le="\+Inf",outcome="NOT_FOUND"\} 1$/m)
      // Buckets are cumulative, in bound order, ending at the count; the sum is the seconds spent.
      const buckets = [...text.matchAll(/^momentry_validation_duration_seconds_bucket\{le="([^"]+)",outcome="valid"\} (\d+)$/gm)]
      expect(buckets.map((m) => m[1])).to.deep.equal(['0.00005', '0.0001', '0.00025', '0.0005', '0.001', '0.002', '0.0025', '0.005', '0.01', '0.025', '0.1', '+Inf'])
      const counts = buckets.map((m) => Number(m[2]))
      expect(counts).to.deep.equal([...counts].sort((a, b) => a - b))
      expect(counts.at(-1)).to.equal(2)
      const sum = Number(/^momentry_validation_duration_seconds_sum\{outcome="valid"\} (\S+)$/m.exec(text)?.[1])
      expect(sum).to.be.greaterThan(0).and.lessThan(5)
    })

    it('given admin requests only, when /metrics is scraped, then no validation is counted (only /v1/keys/verify is)', async () => {
      const admin = await issueAdmin()
      await inject({ method: 'GET', url: '/v1/admin/api-keys', headers: bearer(admin.secret) })
      const text = (await inject({ method: 'GET', url: '/metrics' })).body
      expect(text).to.match(/^# TYPE momentry_validations_total counter$/m)
      expect(text).not.to.match(/^momentry_validations_total\{/m)
    })
  })

  describe('health', () => {
    it('given the app, when /healthz is fetched, then 200 {status: ok}', async () => {
      const res = await inject({ method: 'GET', url: '/healthz' })
      expect(res.statusCode).to.equal(200)
      expect(res.json()).to.deep.equal({ status: 'ok' })
    })

    it('given PostgreSQL and Redis up, when /readyz is fetched, then 200 ready with postgres and redis ok', async () => {
      const res = await inject({ method: 'GET', url: '/readyz' })
      expect(res.statusCode, res.body).to.equal(200)
      expect(res.json()).to.deep.equal({ status: 'ready', checks: { postgres: 'ok', redis: 'ok' } })
      expect(res.headers).not.to.have.property('retry-after')
    })

    it('given REDIS_URL pointing at a closed port, when /readyz is fetched, then 503 not ready with redis unreachable', async () => {
      const down = testCore(sql, { clock, redis: true, env: { REDIS_URL: 'redis://127.0.0.1:1' } })
      const downApp = buildApp(down.ctx)
      try {
        const res = await downApp.inject({ method: 'GET', url: '/readyz' })
        expect(res.statusCode, res.body).to.equal(503)
        expect(res.json()).to.deep.equal({ status: 'not ready', checks: { postgres: 'ok', redis: 'unreachable' } })
        // A load balancer or client told when to look again.
        expect(res.headers['retry-after']).to.equal('2')
      } finally {
        await downApp.close()
        await down.close()
      }
    })
  })

  describe('database errors in a request', () => {
    it('given an anomalies since outside what PostgreSQL can store (year 0), when listed, then 400 naming "since", nothing logged as an error', async () => {
      const errors: string[] = []
      const logged = buildApp({ ...ctx, log: { ...silentLogger, error: (m: string) => void errors.push(m) } })
      try {
        const { secret } = await issueAdmin()
        for (const since of ['0000-01-01T00:00:00Z', '0000-12-31T23:59:59+00:00']) {
          const res = await logged.inject({ method: 'GET', url: `/v1/admin/anomalies?since=${encodeURIComponent(since)}`, headers: bearer(secret), remoteAddress: ip })
          expect(expectError(res, 400, 'USAGE_ERROR').message, since).to.match(/^"since" /)
        }
        const audit = await logged.inject({ method: 'GET', url: '/v1/admin/audit?since=0000-01-01T00:00:00Z', headers: bearer(secret), remoteAddress: ip })
        expect(expectError(audit, 400, 'USAGE_ERROR').message).to.match(/since "0000-01-01T00:00:00Z" must be a time between 0001-01-01 and 9999-12-31/)
        // The earliest and latest four-digit years still work.
        for (const since of ['0001-01-01T00:00:00Z', '9999-12-31T23:59:59Z']) {
          const res = await logged.inject({ method: 'GET', url: `/v1/admin/anomalies?since=${since}`, headers: bearer(secret), remoteAddress: ip })
          expect(res.statusCode, `${since}: ${res.body}`).to.equal(200)
        }
      } finally {
        await logged.close()
      }
      expect(errors).to.deep.equal([])
    })

    it('given a limit too large to be a number (1e400), when listed, then 400 saying it must be a finite number', async () => {
      const { secret } = await issueAdmin()
      for (const url of ['/v1/admin/anomalies?limit=1e400', '/v1/admin/api-keys?limit=1e400', '/v1/admin/audit?limit=-1e400']) {
        const e = expectError(await inject({ method: 'GET', url, headers: bearer(secret) }), 400, 'USAGE_ERROR')
        expect(e.message, url).to.equal('"limit" must be a finite number')
      }
      expect(expectError(await inject({ method: 'GET', url: '/v1/admin/api-keys?limit=ten', headers: bearer(secret) }), 400, 'USAGE_ERROR').message).to.equal('"limit" must be a number')
    })

    it('given the connection of the pool terminated by the server mid-request (57P01, as a shutdown does), when requests come, then 503 with Retry-After, never 500, until served again', async () => {
      // A pool of one connection of this test's own, on this run's own database: only its backend is terminated.
      const own = connectPostgres(testDatabaseUrl(), { max: 1 })
      const core = testCore(own, { clock, redis: true, effects: [] })
      const errors: string[] = []
      const a = buildApp({ ...core.ctx, log: { ...silentLogger, error: (m: string) => void errors.push(m) } })
      try {
        const { secret } = await createKey(core.ctx, { name: 'admin', type: 'system', scopes: ['admin'] })
        const list = () => a.inject({ method: 'GET', url: '/v1/admin/anomalies', headers: bearer(secret), remoteAddress: ip })
        expect((await list()).statusCode).to.equal(200)
        const [row] = await own<{ pid: number }[]>`select pg_backend_pid() as pid`
        const pid = row!.pid
        // The request waits behind a lock of ours, so it is in flight when its backend goes.
        let release!: () => void
        let locked!: () => void
        const isLocked = new Promise<void>((r) => (locked = r))
        const holding = sql.begin(async (tx) => {
          await tx`lock table api_key_anomalies in access exclusive mode`
          locked()
          await new Promise<void>((r) => (release = r))
        })
        await isLocked
        const inFlight = list()
        for (let t0 = Date.now(); ; await new Promise((r) => setTimeout(r, 10))) {
          const [w] = await sql`select 1 from pg_stat_activity where pid = ${pid} and wait_event_type = 'Lock'`
          if (w) break
          if (Date.now() - t0 > 5000) throw new Error('the request never waited for the lock')
        }
        await sql`select pg_terminate_backend(${pid})`
        release()
        await holding
        const answers = [await inFlight]
        for (let i = 0; i < 20 && answers.at(-1)!.statusCode !== 200; i++) answers.push(await list())
        for (const res of answers) {
          expect([200, 503], res.body).to.include(res.statusCode)
          if (res.statusCode === 503) {
            expectError(res, 503, 'CONNECTION_ERROR')
            expect(Number(res.headers['retry-after']), 'retry-after').to.be.within(1, 60)
          }
        }
        expect(answers[0]!.statusCode, answers[0]!.body).to.equal(503)
        expect(answers.at(-1)!.statusCode).to.equal(200)
        expect(errors.every((m) => m.startsWith('CONNECTION_ERROR in a request')), errors.join('\n')).to.equal(true)
      } finally {
        await a.close()
        await core.close()
        await own.end()
      }
    })
  })

  describe('readiness of a serve whose LISTEN connection is down', () => {
    const listeningIs = async (c: CoreContext, listening: boolean) => {
      for (const t0 = Date.now(); c.validation.listening !== listening; await new Promise((r) => setTimeout(r, 20))) {
        if (Date.now() - t0 > 5000) throw new Error(`the listener never became ${listening ? 'up' : 'down'}`)
      }
    }

    it('given the mirrors started and their LISTEN connection killed, when /readyz is fetched, then 503 with listen down, and 200 once it is back', async () => {
      const served = testCore(sql, { clock, redis: true, effects: [] })
      // A slow reconnect, so that the down state lasts while it is looked at.
      const off = await mirrorValidationState(served.ctx, { retryMs: 1500 })
      const servedApp = buildApp(served.ctx)
      try {
        const ready = await servedApp.inject({ method: 'GET', url: '/readyz' })
        expect(ready.json()).to.deep.equal({ status: 'ready', checks: { postgres: 'ok', redis: 'ok', listen: 'ok' } })
        await sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = 'momentry-listen'`
        await listeningIs(served.ctx, false)
        const down = await servedApp.inject({ method: 'GET', url: '/readyz' })
        expect(down.statusCode, down.body).to.equal(503)
        expect(down.json()).to.deep.equal({ status: 'not ready', checks: { postgres: 'ok', redis: 'ok', listen: 'down' } })
        await listeningIs(served.ctx, true)
        expect((await servedApp.inject({ method: 'GET', url: '/readyz' })).statusCode).to.equal(200)
      } finally {
        await servedApp.close()
        await off()
        await served.close()
      }
    })
  })

  describe('unknown routes', () => {
    it('given a path no route serves, when requested, then 404 {error: {code: NOT_FOUND}}', async () => {
      const err = expectError(await inject({ method: 'GET', url: '/v2/nothing?x=1' }), 404, 'NOT_FOUND')
      expect(err.message).to.equal('no route GET /v2/nothing')
    })

    it('given a known path with the wrong method, when requested, then 404 NOT_FOUND', async () => {
      expectError(await inject({ method: 'GET', url: '/v1/keys/verify' }), 404, 'NOT_FOUND')
    })
  })
})
