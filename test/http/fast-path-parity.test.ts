import type { AddressInfo } from 'node:net'

import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'

import { disableKey, revokeKey } from '../../src/core/api-keys/change-key-state.js'
import { createKey } from '../../src/core/api-keys/create-key.js'
import { generateRawKey } from '../../src/core/api-keys/key-format.js'
import { addToBlacklist } from '../../src/core/blacklist/blacklist.js'
import { fixedClock } from '../../src/core/clock.js'
import type { CoreContext } from '../../src/core/context.js'
import type { Sql } from '../../src/core/db/connect.js'
import { verifyKey } from '../../src/core/validation/verify-key.js'
import { buildApp } from '../../src/http/app.js'
import { openTestSql, redisTestContext, truncateAll } from '../helpers/db.js'
import type { Answer, SocketRequest } from './socket-request.js'
import { sendOverSocket } from './socket-request.js'

/** The keys and addresses the table's requests use, made with the core before any request. */
interface State {
  valid: string
  revoked: string
  disabled: string
  expired: string
  readOnly: string
}

interface Row {
  name: string
  request: (s: State) => SocketRequest
  /** Who answers on the fast app: its own path, or fastify behind it. */
  answeredBy: 'fast path' | 'fastify'
}

/** Source addresses named in the body (the test client is a trusted loopback proxy): one per row, so failures counted for one never lock out another. */
const ipFor = (n: number) => `100.64.91.${n}`
const LOCKED_OUT = ipFor(250)
const BLACKLISTED = '203.0.113.0/24'

const json = (payload: unknown, headers: Record<string, string> = {}): SocketRequest => raw(JSON.stringify(payload), headers)
const raw = (text: string | Buffer, headers: Record<string, string> = {}): SocketRequest => ({
  headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers },
  chunks: [text],
})

const rows: Row[] = [
  { name: 'a valid key', request: (s) => json({ key: s.valid, ip: ipFor(1) }), answeredBy: 'fast path' },
  { name: 'a malformed key (MALFORMED)', request: () => json({ key: 'mtry_svc_not-a-key', ip: ipFor(2) }), answeredBy: 'fast path' },
  { name: 'a well-formed key never issued (NOT_FOUND)', request: () => json({ key: generateRawKey('service'), ip: ipFor(3) }), answeredBy: 'fast path' },
  { name: 'a revoked key (REVOKED)', request: (s) => json({ key: s.revoked, ip: ipFor(4) }), answeredBy: 'fast path' },
  { name: 'a disabled key (DISABLED)', request: (s) => json({ key: s.disabled, ip: ipFor(5) }), answeredBy: 'fast path' },
  { name: 'an expired key (EXPIRED)', request: (s) => json({ key: s.expired, ip: ipFor(6) }), answeredBy: 'fast path' },
  { name: 'a key lacking a required scope (INSUFFICIENT_SCOPE)', request: (s) => json({ key: s.readOnly, ip: ipFor(7), requiredScopes: ['keys:write'] }), answeredBy: 'fast path' },
  { name: 'a valid key from a locked-out address (RATE_LIMITED)', request: (s) => json({ key: s.valid, ip: LOCKED_OUT }), answeredBy: 'fast path' },
  { name: 'a valid key from a blacklisted address (BLACKLISTED)', request: (s) => json({ key: s.valid, ip: '203.0.113.77' }), answeredBy: 'fast path' },
  { name: 'a valid key and a body led by a byte-order mark', request: (s) => raw(`\uFEFF${JSON.stringify({ key: s.valid, ip: ipFor(8) })}`), answeredBy: 'fast path' },
  { name: 'a body that is not JSON', request: () => raw('{"key": '), answeredBy: 'fast path' },
  { name: 'a body that is JSON null', request: () => raw('null'), answeredBy: 'fast path' },
  { name: 'a body that is a JSON array', request: () => raw('[]'), answeredBy: 'fast path' },
  { name: 'a body with an own __proto__ key', request: () => raw('{"key": "x", "__proto__": {"admin": true}}'), answeredBy: 'fast path' },
  { name: 'a body with constructor.prototype', request: () => raw('{"key": "x", "constructor": {"prototype": {"admin": true}}}'), answeredBy: 'fast path' },
  { name: 'a body nested 8,000 levels deep', request: () => raw(`${'['.repeat(8000)}${']'.repeat(8000)}`), answeredBy: 'fast path' },
  {
    name: 'a body nested 2,500 levels deep with __proto__ at the bottom',
    request: () => raw(`${'{"a":'.repeat(2500)}{"__proto__":{}}${'}'.repeat(2500)}`),
    answeredBy: 'fast path',
  },
  { name: 'a body without key', request: () => json({ ip: ipFor(9) }), answeredBy: 'fast path' },
  { name: 'a body with an extra field', request: () => json({ key: 'x', admin: true }), answeredBy: 'fast path' },
  { name: 'a key longer than 4096 characters', request: () => json({ key: 'x'.repeat(4097) }), answeredBy: 'fast path' },
  { name: 'a key that is not a string', request: () => json({ key: 42 }), answeredBy: 'fast path' },
  { name: 'an ip that is not an address', request: () => json({ key: 'x', ip: 'not-an-ip' }), answeredBy: 'fast path' },
  { name: 'a malformed scope in requiredScopes', request: () => json({ key: 'x', requiredScopes: ['Not A Scope'] }), answeredBy: 'fast path' },
  { name: 'a body over the limit, announced by its length', request: () => json({ key: 'x'.repeat(17 * 1024) }), answeredBy: 'fast path' },
  {
    name: 'a body over the limit, sent chunked',
    request: () => ({ headers: { 'content-type': 'application/json' }, chunks: Array.from({ length: 17 }, () => 'x'.repeat(1024)) }),
    answeredBy: 'fast path',
  },
  { name: 'an empty body typed as JSON', request: () => raw(''), answeredBy: 'fast path' },
  { name: 'an empty body with no content type', request: () => ({ headers: { 'content-length': '0' } }), answeredBy: 'fastify' },
  { name: 'a text/plain body', request: () => raw('mtry_svc_x', { 'content-type': 'text/plain' }), answeredBy: 'fastify' },
  { name: 'an application/xml body', request: () => raw('<key>x</key>', { 'content-type': 'application/xml' }), answeredBy: 'fastify' },
  { name: 'a JSON body with no content type', request: () => ({ headers: {}, chunks: ['{"key": "x"}'] }), answeredBy: 'fastify' },
  { name: 'a JSON body typed in capitals with a charset', request: (s) => json({ key: s.valid, ip: ipFor(10) }, { 'content-type': 'Application/JSON; charset=UTF-8' }), answeredBy: 'fast path' },
  { name: 'a query string after the path', request: (s) => ({ ...json({ key: s.valid, ip: ipFor(11) }), path: '/v1/keys/verify?x=1' }), answeredBy: 'fastify' },
  { name: 'a GET of the verify path', request: () => ({ method: 'GET' }), answeredBy: 'fastify' },
]

/** What must be the same from both: the status, the content type and the parsed body. */
const seen = (a: Answer) => ({ status: a.status, contentType: a.headers['content-type'], body: JSON.parse(a.body) as unknown })

describe('serve’s verify fast path answers as fastify alone does (two real servers, one core state)', () => {
  let sql: Sql
  let ctx: CoreContext
  let closeCtx: () => Promise<void>
  let fast: FastifyInstance
  let plain: FastifyInstance
  let fastPort: number
  let plainPort: number
  /** Requests of the fast app that reached fastify (its onRequest hook). */
  let reachedFastify = 0
  const state = {} as State
  /** Every row's answer, for the check of what the table covers. */
  const answers: ReturnType<typeof seen>[] = []

  before(async () => {
    sql = openTestSql()
    await truncateAll(sql)
    const clock = fixedClock(new Date())
    const core = redisTestContext(sql, { clock })
    ;({ ctx, close: closeCtx } = core)
    await core.start()
    const issue = async (input: { scopes?: string[]; expiresInSeconds?: number } = {}) => createKey(ctx, { name: 'parity', type: 'service', ...input })
    state.valid = (await issue()).secret
    const revoked = await issue()
    await revokeKey(ctx, { id: revoked.key.id })
    state.revoked = revoked.secret
    const disabled = await issue()
    await disableKey(ctx, { id: disabled.key.id })
    state.disabled = disabled.secret
    state.expired = (await issue({ expiresInSeconds: 60 })).secret
    clock.advance(61_000)
    state.readOnly = (await issue({ scopes: ['keys:read'] })).secret
    for (let i = 0; i < ctx.config.rateLimit.maxAttempts; i++) await verifyKey(ctx, { key: 'garbage', ip: LOCKED_OUT })
    await addToBlacklist(ctx, { target: BLACKLISTED })
    await ctx.bus.drain()

    fast = buildApp(ctx, { fastVerify: true })
    fast.addHook('onRequest', async () => {
      reachedFastify++
    })
    plain = buildApp(ctx)
    await fast.listen({ host: '127.0.0.1', port: 0 })
    await plain.listen({ host: '127.0.0.1', port: 0 })
    fastPort = (fast.server.address() as AddressInfo).port
    plainPort = (plain.server.address() as AddressInfo).port
  })

  after(async () => {
    await fast?.close()
    await plain?.close()
    await closeCtx?.()
    await sql.end()
  })

  for (const row of rows) {
    it(`given ${row.name}, when sent to both, then the same status, content type and JSON body (taken by the ${row.answeredBy})`, async () => {
      const request = row.request(state)
      const before = reachedFastify
      const viaFast = await sendOverSocket(fastPort, request)
      expect(reachedFastify - before, 'requests of the fast app that reached fastify').to.equal(row.answeredBy === 'fastify' ? 1 : 0)
      const viaFastify = await sendOverSocket(plainPort, request)
      expect(seen(viaFast), viaFast.body).to.deep.equal(seen(viaFastify))
      answers.push(seen(viaFastify))
    })
  }

  it('given the table, then it covers every invalid code a key can get and each kind of refused request', () => {
    expect(answers).to.have.length(rows.length)
    const codes = new Set(answers.map(({ body }) => (body as { code?: string }).code ?? (body as { error?: { code: string } }).error?.code))
    for (const code of ['MALFORMED', 'NOT_FOUND', 'REVOKED', 'DISABLED', 'EXPIRED', 'INSUFFICIENT_SCOPE', 'RATE_LIMITED', 'BLACKLISTED', 'BAD_REQUEST', 'USAGE_ERROR', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE']) {
      expect(codes, code).to.include(code)
    }
    expect(answers.filter((a) => (a.body as { valid?: boolean }).valid === true)).to.have.length.above(1)
  })
})
