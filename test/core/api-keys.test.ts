import { expect } from 'chai'

import { disableKey, enableKey, revokeKey } from '../../src/core/api-keys/change-key-state.js'
import { createKey } from '../../src/core/api-keys/create-key.js'
import { hashKey, parseRawKey } from '../../src/core/api-keys/key-format.js'
import { KEY_ID_PATTERN } from '../../src/core/api-keys/key-id.js'
import { keyStats } from '../../src/core/api-keys/key-stats.js'
import type { KeyType } from '../../src/core/api-keys/key-types.js'
import { KEY_STATUSES, KEY_TYPES } from '../../src/core/api-keys/key-types.js'
import { listKeys, showKey } from '../../src/core/api-keys/list-keys.js'
import { rotateDueKeys, rotateKey } from '../../src/core/api-keys/rotate-key.js'
import { fixedClock } from '../../src/core/clock.js'
import type { CoreContext } from '../../src/core/context.js'
import type { Sql } from '../../src/core/db/connect.js'
import { ConflictError, MomentryError, NotFoundError, UsageError } from '../../src/core/errors.js'
import type { MomentryEvent } from '../../src/core/events.js'
import { verifyKey } from '../../src/core/validation/verify-key.js'
import { auditRows, openTestSql, testContext, truncateAll } from '../helpers/db.js'

const T0 = '2031-03-01T12:00:00.000Z'
const HOUR = 3_600_000
const DAY = 24 * HOUR

async function rejectionOf(promise: Promise<unknown>): Promise<MomentryError> {
  try {
    await promise
  } catch (error) {
    expect(error).to.be.instanceOf(MomentryError)
    return error as MomentryError
  }
  return expect.fail('expected a rejection')
}

const plus = (iso: string, ms: number) => new Date(new Date(iso).getTime() + ms).toISOString()

describe('api keys (core)', () => {
  let sql: Sql
  /** A second pool: sees only what is committed, and stands in for a second process. */
  let observer: Sql
  let clock: ReturnType<typeof fixedClock>
  let ctx: CoreContext

  before(() => {
    sql = openTestSql()
    observer = openTestSql()
  })

  after(async () => {
    await sql.end()
    await observer.end()
  })

  beforeEach(async () => {
    await truncateAll(sql)
    clock = fixedClock(T0)
    ctx = testContext(sql, { clock })
  })

  const count = async (table: 'api_keys' | 'api_key_audit_log'): Promise<number> => {
    const [row] = await sql`select count(*)::int as n from ${sql(table)}`
    return row!.n as number
  }

  const auditOf = async (keyId: string) =>
    (await auditRows(sql, { keyId })).map((r) => ({ action: r.action, actor: r.actor, key_id: r.keyId, details: r.details, created_at: new Date(r.at) }))

  describe('createKey', () => {
    it('given valid input, when creating a key, then the secret has the key format of its type and the view describes the key', async () => {
      const { secret, key } = await createKey(ctx, {
        name: 'billing-worker',
        type: 'service',
        scopes: ['keys:read', 'billing.export', 'keys:read'],
        owner: 'team-billing',
        metadata: { env: 'prod' },
      })
      expect(parseRawKey(secret)).to.equal('service')
      expect(key.id).to.match(KEY_ID_PATTERN)
      expect(key).to.deep.include({
        name: 'billing-worker',
        type: 'service',
        status: 'active',
        stub: `${secret.slice(0, 12)}…`,
        scopes: ['billing.export', 'keys:read'],
        owner: 'team-billing',
        metadata: { env: 'prod' },
        createdAt: T0,
        createdBy: 'test:runner',
        expiresAt: null,
        lastUsedAt: null,
        rotateEvery: null,
        rotatedFrom: null,
        replacedBy: null,
        revokedAt: null,
      })
    })

    it('given a created key, when reading its row, then key_hash is the SHA-256 of the secret', async () => {
      const { secret, key } = await createKey(ctx, { name: 'k', type: 'user' })
      const [row] = await sql`select key_hash, key_stub from api_keys where key_id = ${key.id}`
      expect(Buffer.from(row!.key_hash).equals(hashKey(secret))).to.equal(true)
      expect(row!.key_stub).to.equal(secret.slice(0, 12))
    })

    it('given a created key, when searching every column of api_keys and api_key_audit_log as text, then neither the raw key nor its body appears', async () => {
      const { secret } = await createKey(ctx, { name: 'k', type: 'system', scopes: ['admin'], owner: 'ops', metadata: { a: 'b' } })
      const body = secret.slice(9, 52)
      const rows = [
        ...(await sql`select t::text as row from api_keys t`),
        ...(await sql`select t::text as row from api_key_audit_log t`),
      ].map((r) => r.row as string)
      expect(rows).to.have.length(2)
      // The stub keeps the first 3 body characters on purpose; anything beyond them must not be stored.
      const needles = [secret, body, Buffer.from(secret).toString('hex'), Buffer.from(secret).toString('base64')]
      for (let i = 3; i + 8 <= body.length; i += 4) needles.push(body.slice(i, i + 8))
      for (const row of rows) for (const needle of needles) expect(row).not.to.include(needle)
    })

    it('given a created key, when reading the audit log, then one key.create row was written with the actor, time and details', async () => {
      const { key } = await createKey(ctx, { name: 'audited', type: 'integration', scopes: ['hooks:write'], owner: 'ci' })
      const rows = await auditOf(key.id)
      expect(rows).to.have.length(1)
      expect(rows[0]).to.deep.include({ action: 'key.create', actor: 'test:runner', key_id: key.id })
      expect(rows[0]!.created_at.toISOString()).to.equal(T0)
      expect(rows[0]!.details).to.deep.equal({
        name: 'audited',
        type: 'integration',
        scopes: ['hooks:write'],
        owner: 'ci',
        expiresAt: null,
        rotatedFrom: null,
      })
    })

    it('given expiresInSeconds, when creating a key, then it expires that long after the clock', async () => {
      const { key } = await createKey(ctx, { name: 'k', type: 'user', expiresInSeconds: 3600 })
      expect(key.expiresAt).to.equal(plus(T0, HOUR))
    })

    it('given an expiresAt in the past, when creating a key, then it is a UsageError and nothing is written', async () => {
      const error = await rejectionOf(createKey(ctx, { name: 'k', type: 'user', expiresAt: plus(T0, -1000) }))
      expect(error).to.be.instanceOf(UsageError)
      expect(error.exitCode).to.equal(2)
      expect(await count('api_keys')).to.equal(0)
      expect(await count('api_key_audit_log')).to.equal(0)
    })

    it('given an invalid scope, when creating a key, then it is a UsageError naming the field and nothing is written', async () => {
      const error = await rejectionOf(createKey(ctx, { name: 'k', type: 'user', scopes: ['Not A Scope'] }))
      expect(error).to.be.instanceOf(UsageError)
      expect(error.reason).to.match(/^"scopes\[0\]": a scope is/)
      expect(await count('api_keys')).to.equal(0)
    })

    it('given an unknown type, when creating a key, then it is a UsageError', async () => {
      const error = await rejectionOf(createKey(ctx, { name: 'k', type: 'superuser' as KeyType }))
      expect(error).to.be.instanceOf(UsageError)
      expect(error.reason).to.match(/^"type" must be one of /)
    })
  })

  describe('rotateKey', () => {
    const graceHours: [KeyType, number][] = [
      ['system', 72],
      ['user', 24],
      ['service', 48],
      ['integration', 24],
    ]
    for (const [type, hours] of graceHours) {
      it(`given a ${type} key, when rotated, then the old key is rotating until now + ${hours}h`, async () => {
        const { key: old } = await createKey(ctx, { name: `${type}-key`, type })
        clock.advance(HOUR)
        const now = clock.now().toISOString()
        const { key, previous } = await rotateKey(ctx, { id: old.id })
        expect(previous).to.deep.include({
          id: old.id,
          status: 'rotating',
          replacedBy: key.id,
          rotatedAt: now,
          graceExpiresAt: plus(now, hours * HOUR),
          revokedAt: null,
        })
        expect(key).to.deep.include({ status: 'active', rotatedFrom: old.id, createdAt: now })
      })
    }

    it('given an emergency key, when rotated, then the old key is revoked at once with no grace period', async () => {
      const { secret: oldSecret, key: old } = await createKey(ctx, { name: 'break-glass', type: 'emergency' })
      const { previous } = await rotateKey(ctx, { id: old.id })
      expect(previous).to.deep.include({ status: 'revoked', revokedAt: T0, graceExpiresAt: null })
      expect(await verifyKey(ctx, { key: oldSecret })).to.deep.equal({ valid: false, code: 'REVOKED' })
    })

    it('given graceSeconds, when rotating, then it overrides the type grace period', async () => {
      const { key: old } = await createKey(ctx, { name: 'k', type: 'system' })
      const { previous } = await rotateKey(ctx, { id: old.id, graceSeconds: 600 })
      expect(previous.graceExpiresAt).to.equal(plus(T0, 600_000))
      expect(previous.status).to.equal('rotating')
    })

    it('given graceSeconds 0, when rotating, then the old key is revoked at once', async () => {
      const { key: old } = await createKey(ctx, { name: 'k', type: 'service' })
      const { previous } = await rotateKey(ctx, { id: old.id, graceSeconds: 0 })
      expect(previous).to.deep.include({ status: 'revoked', revokedAt: T0, graceExpiresAt: null })
    })

    it('given a key that expires before its grace period would end, when rotated, then grace ends at the old key\'s own expiry', async () => {
      const { key: old } = await createKey(ctx, { name: 'k', type: 'service', expiresInSeconds: 3600 })
      const { previous } = await rotateKey(ctx, { id: old.id })
      expect(previous.graceExpiresAt).to.equal(old.expiresAt)
      expect(previous.graceExpiresAt).to.equal(plus(T0, HOUR))
    })

    it('given a graceSeconds override past the key\'s expiry, when rotating, then grace still ends at the old key\'s expiry', async () => {
      const { key: old } = await createKey(ctx, { name: 'k', type: 'user', expiresInSeconds: 120 })
      const { previous } = await rotateKey(ctx, { id: old.id, graceSeconds: 86_400 })
      expect(previous.graceExpiresAt).to.equal(plus(T0, 120_000))
    })

    it('given force, when rotating, then the old key is revoked at once and stops validating while the new one works', async () => {
      const { secret: oldSecret, key: old } = await createKey(ctx, { name: 'k', type: 'system' })
      const { secret, key, previous } = await rotateKey(ctx, { id: old.id, force: true, reason: 'leaked in a log' })
      expect(previous).to.deep.include({ status: 'revoked', revokedAt: T0, graceExpiresAt: null })
      expect(previous.revokedReason).to.include('leaked in a log')
      expect(await verifyKey(ctx, { key: oldSecret })).to.deep.equal({ valid: false, code: 'REVOKED' })
      const fresh = await verifyKey(ctx, { key: secret })
      expect(fresh.valid && fresh.key.id).to.equal(key.id)
    })

    it('given a disabled key, when rotated, then the new key is active and valid while the old key stays DISABLED (docs/decisions.md)', async () => {
      const { secret: oldSecret, key: old } = await createKey(ctx, { name: 'k', type: 'service' })
      await disableKey(ctx, { id: old.id, reason: 'incident' })
      const { secret, key, previous } = await rotateKey(ctx, { id: old.id })
      expect(previous.status).to.equal('disabled')
      expect(key.status).to.equal('active')
      expect(await verifyKey(ctx, { key: oldSecret })).to.deep.equal({ valid: false, code: 'DISABLED' })
      expect((await verifyKey(ctx, { key: secret })).valid).to.equal(true)
    })

    it('given force and graceSeconds together, when rotating, then it is a UsageError and nothing changes', async () => {
      const { key: old } = await createKey(ctx, { name: 'k', type: 'system' })
      const error = await rejectionOf(rotateKey(ctx, { id: old.id, force: true, graceSeconds: 60 }))
      expect(error).to.be.instanceOf(UsageError)
      expect(await count('api_keys')).to.equal(1)
    })

    it('given a rotated key inside its grace period, when the old key is verified, then it is valid and marked rotating', async () => {
      const { secret: oldSecret, key: old } = await createKey(ctx, { name: 'k', type: 'user' })
      const { key } = await rotateKey(ctx, { id: old.id })
      clock.advance(24 * HOUR - 1)
      const result = await verifyKey(ctx, { key: oldSecret })
      expect(result).to.deep.equal({
        valid: true,
        key: {
          id: old.id,
          name: 'k',
          type: 'user',
          scopes: [],
          owner: null,
          expiresAt: null,
          rotating: { graceExpiresAt: plus(T0, 24 * HOUR), replacedBy: key.id },
        },
      })
    })

    describe('the successor named to an old key in grace (the live end of its rotation chain)', () => {
      const rotating = async (secret: string) => {
        const r = await verifyKey(ctx, { key: secret })
        if (!r.valid) return expect.fail(`expected valid, got ${r.code}`)
        return r.key.rotating
      }

      it('given A rotated to B and B rotated to C, when A and B are verified, then both name C', async () => {
        const a = await createKey(ctx, { name: 'billing-export', type: 'service' })
        const b = await rotateKey(ctx, { id: a.key.id })
        const c = await rotateKey(ctx, { id: b.key.id })
        expect((await rotating(a.secret))!.replacedBy).to.equal(c.key.id)
        expect((await rotating(b.secret))!.replacedBy).to.equal(c.key.id)
      })

      it('given A cached naming B, when B is rotated to C, then A names C at once, and a second verification of A runs no query', async () => {
        const queries: string[] = []
        const counted = openTestSql({ onQuery: (q) => queries.push(q) })
        try {
          const local = testContext(counted, { clock })
          const a = await createKey(local, { name: 'billing-export', type: 'service' })
          const b = await rotateKey(local, { id: a.key.id })
          const before = await verifyKey(local, { key: a.secret })
          expect(before.valid && before.key.rotating!.replacedBy).to.equal(b.key.id)
          const c = await rotateKey(local, { id: b.key.id })
          await local.bus.drain()
          const after = await verifyKey(local, { key: a.secret })
          expect(after.valid && after.key.rotating!.replacedBy).to.equal(c.key.id)
          queries.length = 0
          const again = await verifyKey(local, { key: a.secret })
          expect(again.valid && again.key.rotating!.replacedBy).to.equal(c.key.id)
          expect(queries, 'a cached rotated key is answered from memory').to.deep.equal([])
        } finally {
          await counted.end()
        }
      })

      it('given the end of the chain revoked (or disabled), when A is verified, then it names no successor; enabled again, it names it again', async () => {
        const a = await createKey(ctx, { name: 'billing-export', type: 'service' })
        const b = await rotateKey(ctx, { id: a.key.id })
        const c = await rotateKey(ctx, { id: b.key.id })
        expect((await rotating(a.secret))!.replacedBy).to.equal(c.key.id)
        await disableKey(ctx, { id: c.key.id, reason: 'suspicious' })
        await ctx.bus.drain()
        expect((await rotating(a.secret))!.replacedBy).to.equal(null)
        await enableKey(ctx, { id: c.key.id })
        await ctx.bus.drain()
        expect((await rotating(a.secret))!.replacedBy).to.equal(c.key.id)
        await revokeKey(ctx, { id: c.key.id })
        await ctx.bus.drain()
        expect(await rotating(a.secret)).to.deep.equal({ graceExpiresAt: plus(T0, 48 * HOUR), replacedBy: null })
      })

      it('given the successor expired by the clock, when A is loaded afresh, then it names no successor', async () => {
        const a = await createKey(ctx, { name: 'billing-export', type: 'service' })
        const b = await rotateKey(ctx, { id: a.key.id })
        await sql`update api_keys set expires_at = ${new Date(new Date(T0).getTime() + HOUR)} where key_id = ${b.key.id}`
        ctx.validation.cache.clear()
        expect((await rotating(a.secret))!.replacedBy).to.equal(b.key.id)
        clock.advance(HOUR)
        ctx.validation.cache.clear()
        expect((await rotating(a.secret))!.replacedBy).to.equal(null)
      })
    })

    it('given a rotated key, when the clock passes the end of grace, then the old key is EXPIRED and the new key still valid', async () => {
      const { secret: oldSecret, key: old } = await createKey(ctx, { name: 'k', type: 'user' })
      const { secret } = await rotateKey(ctx, { id: old.id })
      clock.advance(24 * HOUR)
      expect(await verifyKey(ctx, { key: oldSecret })).to.deep.equal({ valid: false, code: 'EXPIRED' })
      expect((await verifyKey(ctx, { key: secret })).valid).to.equal(true)
    })

    it('given a key with scopes, owner, metadata and a rotation interval, when rotated, then the new key keeps all of them with a new secret', async () => {
      const { secret: oldSecret, key: old } = await createKey(ctx, {
        name: 'deployer',
        type: 'integration',
        scopes: ['deploy:write', 'repo:read'],
        owner: 'platform',
        metadata: { env: 'prod', ticket: 'OPS-1' },
        rotateEverySeconds: 90 * 86_400,
      })
      const { secret, key } = await rotateKey(ctx, { id: old.id })
      expect(secret).not.to.equal(oldSecret)
      expect(parseRawKey(secret)).to.equal('integration')
      expect(key.id).not.to.equal(old.id)
      expect(key).to.deep.include({
        name: 'deployer',
        type: 'integration',
        scopes: ['deploy:write', 'repo:read'],
        owner: 'platform',
        metadata: { env: 'prod', ticket: 'OPS-1' },
        rotateEvery: '90d',
      })
      const verified = await verifyKey(ctx, { key: secret, requiredScopes: ['deploy:write'] })
      expect(verified).to.deep.equal({
        valid: true,
        key: { id: key.id, name: 'deployer', type: 'integration', scopes: ['deploy:write', 'repo:read'], owner: 'platform', expiresAt: null },
      })
    })

    it('given a key with a lifetime, when rotated later, then the new key gets the same lifetime counted from the rotation', async () => {
      const { key: old } = await createKey(ctx, { name: 'k', type: 'service', expiresInSeconds: 30 * 86_400 })
      clock.advance(10 * DAY)
      const { key } = await rotateKey(ctx, { id: old.id })
      expect(key.expiresAt).to.equal(plus(T0, 40 * DAY))
    })

    it('given a rotation, when reading the audit log, then the old key has a key.rotate row and the new key a key.create row', async () => {
      const { key: old } = await createKey(ctx, { name: 'k', type: 'service' })
      const { key } = await rotateKey(ctx, { id: old.id, reason: 'quarterly' })
      const oldRows = await auditOf(old.id)
      expect(oldRows.map((r) => r.action)).to.deep.equal(['key.create', 'key.rotate'])
      expect(oldRows[1]!.details).to.deep.include({ replacedBy: key.id, forced: false, graceSeconds: 48 * 3600, reason: 'quarterly' })
      const newRows = await auditOf(key.id)
      expect(newRows.map((r) => [r.action, r.details!.rotatedFrom])).to.deep.equal([['key.create', old.id]])
    })

    it('given a revoked key, when rotated, then it is a ConflictError (exit 6) and no key is created', async () => {
      const { key: old } = await createKey(ctx, { name: 'k', type: 'user' })
      await revokeKey(ctx, { id: old.id })
      const error = await rejectionOf(rotateKey(ctx, { id: old.id }))
      expect(error).to.be.instanceOf(ConflictError)
      expect(error.exitCode).to.equal(6)
      expect(await count('api_keys')).to.equal(1)
    })

    it('given an already-rotated key, when rotated again, then it is a ConflictError naming its replacement', async () => {
      const { key: old } = await createKey(ctx, { name: 'k', type: 'user' })
      const { key } = await rotateKey(ctx, { id: old.id })
      const error = await rejectionOf(rotateKey(ctx, { id: old.id }))
      expect(error).to.be.instanceOf(ConflictError)
      expect(error.reason).to.include(key.id)
      expect(await count('api_keys')).to.equal(2)
    })

    it('given an expired key, when rotated, then it is a ConflictError', async () => {
      const { key: old } = await createKey(ctx, { name: 'k', type: 'user', expiresInSeconds: 60 })
      clock.advance(61_000)
      const error = await rejectionOf(rotateKey(ctx, { id: old.id }))
      expect(error).to.be.instanceOf(ConflictError)
      expect(error.reason).to.include('expired')
    })

    it('given an unknown key id, when rotated, then it is a NotFoundError (exit 5)', async () => {
      const error = await rejectionOf(rotateKey(ctx, { id: 'key_0000000000000000' }))
      expect(error).to.be.instanceOf(NotFoundError)
      expect(error.exitCode).to.equal(5)
    })

    it('given a string that is not a key id, when rotated, then it is a UsageError before any SQL', async () => {
      const error = await rejectionOf(rotateKey(ctx, { id: "key_1' or '1'='1" }))
      expect(error).to.be.instanceOf(UsageError)
    })

    it('given two rotations of one key from two separate pools at once, then exactly one succeeds and the other is a ConflictError', async () => {
      const { key: old } = await createKey(ctx, { name: 'k', type: 'service' })
      const other = openTestSql()
      try {
        const ctx2 = testContext(other, { clock })
        await other`select 1` // both pools connected, so the two transactions really overlap
        const results = await Promise.allSettled([rotateKey(ctx, { id: old.id }), rotateKey(ctx2, { id: old.id })])
        const fulfilled = results.filter((r) => r.status === 'fulfilled')
        const rejected = results.filter((r) => r.status === 'rejected')
        expect(fulfilled).to.have.length(1)
        expect(rejected).to.have.length(1)
        expect(rejected[0]!.reason).to.be.instanceOf(ConflictError)
        const winner = fulfilled[0]!.value
        const rows = await sql`select key_id, replaced_by from api_keys order by id`
        expect(rows.map((r) => [r.key_id, r.replaced_by])).to.deep.equal([
          [old.id, winner.key.id],
          [winner.key.id, null],
        ])
        const rotations = await sql`select count(*)::int as n from api_key_audit_log where action = 'key.rotate'`
        expect(rotations[0]!.n).to.equal(1)
      } finally {
        await other.end()
      }
    })
  })

  describe('revoke, disable, enable', () => {
    it('given an active key, when revoked with a reason, then it is revoked at the clock time and stops validating', async () => {
      const { secret, key } = await createKey(ctx, { name: 'k', type: 'user' })
      const view = await revokeKey(ctx, { id: key.id, reason: 'employee left' })
      expect(view).to.deep.include({ status: 'revoked', revokedAt: T0, revokedReason: 'employee left' })
      expect(await verifyKey(ctx, { key: secret })).to.deep.equal({ valid: false, code: 'REVOKED' })
    })

    it('given a revoke, when reading the audit log, then a key.revoke row with the reason was written', async () => {
      const { key } = await createKey(ctx, { name: 'k', type: 'user' })
      await revokeKey(ctx, { id: key.id, reason: 'rotated by hand' })
      const rows = await auditOf(key.id)
      expect(rows.map((r) => [r.action, r.details])).to.deep.equal([
        ['key.create', rows[0]!.details],
        ['key.revoke', { reason: 'rotated by hand' }],
      ])
    })

    it('given a revoked key, when revoked again, then it is a ConflictError and the first revocation is kept', async () => {
      const { key } = await createKey(ctx, { name: 'k', type: 'user' })
      await revokeKey(ctx, { id: key.id, reason: 'first' })
      clock.advance(HOUR)
      const error = await rejectionOf(revokeKey(ctx, { id: key.id, reason: 'second' }))
      expect(error).to.be.instanceOf(ConflictError)
      const [row] = await sql`select revoked_at, revoked_reason from api_keys where key_id = ${key.id}`
      expect(row!.revoked_at.toISOString()).to.equal(T0)
      expect(row!.revoked_reason).to.equal('first')
    })

    it('given an old key inside its rotation grace period, when revoked, then it stops validating and its replacement keeps working', async () => {
      const { secret: oldSecret, key: old } = await createKey(ctx, { name: 'k', type: 'system' })
      const { secret } = await rotateKey(ctx, { id: old.id })
      await revokeKey(ctx, { id: old.id })
      expect(await verifyKey(ctx, { key: oldSecret })).to.deep.equal({ valid: false, code: 'REVOKED' })
      expect((await verifyKey(ctx, { key: secret })).valid).to.equal(true)
    })

    it('given a reason with control characters, when revoking, then it is a UsageError and the key stays active', async () => {
      const { key } = await createKey(ctx, { name: 'k', type: 'user' })
      const error = await rejectionOf(revokeKey(ctx, { id: key.id, reason: 'bad\u001b[2Jreason' }))
      expect(error).to.be.instanceOf(UsageError)
      const [row] = await sql`select revoked_at from api_keys where key_id = ${key.id}`
      expect(row!.revoked_at).to.equal(null)
    })

    it('given an active key, when disabled, then it is disabled with time and reason and validates as DISABLED', async () => {
      const { secret, key } = await createKey(ctx, { name: 'k', type: 'user' })
      const view = await disableKey(ctx, { id: key.id, reason: 'investigating' })
      expect(view).to.deep.include({ status: 'disabled', disabledAt: T0, disabledReason: 'investigating' })
      expect(await verifyKey(ctx, { key: secret })).to.deep.equal({ valid: false, code: 'DISABLED' })
      expect((await auditOf(key.id)).map((r) => r.action)).to.deep.equal(['key.create', 'key.disable'])
    })

    it('given a disabled key, when enabled, then it is active again, validates, and the disable fields are cleared', async () => {
      const { secret, key } = await createKey(ctx, { name: 'k', type: 'user' })
      await disableKey(ctx, { id: key.id, reason: 'investigating' })
      clock.advance(HOUR)
      const view = await enableKey(ctx, { id: key.id })
      expect(view).to.deep.include({ status: 'active', disabledAt: null, disabledReason: null })
      expect((await verifyKey(ctx, { key: secret })).valid).to.equal(true)
      expect((await auditOf(key.id)).map((r) => r.action)).to.deep.equal(['key.create', 'key.disable', 'key.enable'])
    })

    it('given a disabled key, when disabled again, then it is a ConflictError', async () => {
      const { key } = await createKey(ctx, { name: 'k', type: 'user' })
      await disableKey(ctx, { id: key.id })
      expect(await rejectionOf(disableKey(ctx, { id: key.id }))).to.be.instanceOf(ConflictError)
    })

    it('given an enabled key, when enabled, then it is a ConflictError and no audit row is written', async () => {
      const { key } = await createKey(ctx, { name: 'k', type: 'user' })
      expect(await rejectionOf(enableKey(ctx, { id: key.id }))).to.be.instanceOf(ConflictError)
      expect((await auditOf(key.id)).map((r) => r.action)).to.deep.equal(['key.create'])
    })

    it('given a revoked key, when disabled, then it is a ConflictError (revocation is final)', async () => {
      const { key } = await createKey(ctx, { name: 'k', type: 'user' })
      await revokeKey(ctx, { id: key.id })
      expect(await rejectionOf(disableKey(ctx, { id: key.id }))).to.be.instanceOf(ConflictError)
    })

    it('given a key disabled and then revoked, when enabled, then it is a ConflictError and it stays revoked', async () => {
      const { secret, key } = await createKey(ctx, { name: 'k', type: 'user' })
      await disableKey(ctx, { id: key.id })
      await revokeKey(ctx, { id: key.id })
      expect(await rejectionOf(enableKey(ctx, { id: key.id }))).to.be.instanceOf(ConflictError)
      expect((await verifyKey(ctx, { key: secret })).valid).to.equal(false)
      expect((await showKey(ctx, key.id)).key.status).to.equal('revoked')
    })

    it('given an unknown key id, when revoked, disabled or enabled, then each is a NotFoundError', async () => {
      for (const change of [revokeKey, disableKey, enableKey]) {
        expect(await rejectionOf(change(ctx, { id: 'key_AAAAAAAAAAAAAAAA' }))).to.be.instanceOf(NotFoundError)
      }
    })
  })

  describe('listKeys', () => {
    async function createSeven(): Promise<string[]> {
      const ids: string[] = []
      for (let i = 0; i < 7; i++) {
        const { key } = await createKey(ctx, { name: `key-${i}`, type: i % 2 ? 'user' : 'service', owner: i < 3 ? 'alice' : 'bob' })
        ids.push(key.id)
        clock.advance(1000)
      }
      return ids
    }

    it('given 7 keys, when paging with limit 3, then pages of 3, 3, 1 return every key exactly once, newest first', async () => {
      const ids = await createSeven()
      const seen: string[][] = []
      let cursor: string | undefined
      for (let guard = 0; guard < 10; guard++) {
        const page = await listKeys(ctx, { limit: 3, cursor })
        seen.push(page.items.map((k) => k.id))
        if (!page.nextCursor) break
        cursor = page.nextCursor
      }
      expect(seen.map((p) => p.length)).to.deep.equal([3, 3, 1])
      expect(seen.flat()).to.deep.equal([...ids].reverse())
    })

    it('given exactly limit keys, when listing, then there is no next cursor', async () => {
      for (let i = 0; i < 3; i++) await createKey(ctx, { name: `k${i}`, type: 'user' })
      const page = await listKeys(ctx, { limit: 3 })
      expect(page.items).to.have.length(3)
      expect(page.nextCursor).to.equal(null)
    })

    it('given keys created while paging, when following the cursor, then the older pages are unaffected', async () => {
      const ids = await createSeven()
      const first = await listKeys(ctx, { limit: 3 })
      await createKey(ctx, { name: 'late', type: 'user' })
      const second = await listKeys(ctx, { limit: 3, cursor: first.nextCursor! })
      expect(second.items.map((k) => k.id)).to.deep.equal([ids[3], ids[2], ids[1]])
    })

    it('given keys of two types, when filtering by type, then only that type is listed', async () => {
      const ids = await createSeven()
      const page = await listKeys(ctx, { type: 'user' })
      expect(page.items.map((k) => k.id)).to.deep.equal([ids[5], ids[3], ids[1]])
      expect(page.items.every((k) => k.type === 'user')).to.equal(true)
    })

    it('given keys of two owners, when filtering by owner and paging, then only that owner\'s keys are listed, each once', async () => {
      const ids = await createSeven()
      const first = await listKeys(ctx, { owner: 'alice', limit: 2 })
      const second = await listKeys(ctx, { owner: 'alice', limit: 2, cursor: first.nextCursor! })
      expect([...first.items, ...second.items].map((k) => k.id)).to.deep.equal([ids[2], ids[1], ids[0]])
      expect(second.nextCursor).to.equal(null)
    })

    it('given keys in every status, when filtering by each status, then each list holds exactly the keys in that status', async () => {
      const active = (await createKey(ctx, { name: 'active', type: 'user' })).key.id
      const revoked = (await createKey(ctx, { name: 'revoked', type: 'user' })).key.id
      await revokeKey(ctx, { id: revoked })
      const disabled = (await createKey(ctx, { name: 'disabled', type: 'user' })).key.id
      await disableKey(ctx, { id: disabled })
      const expiring = (await createKey(ctx, { name: 'expired', type: 'user', expiresInSeconds: 60 })).key.id
      const rotated = (await createKey(ctx, { name: 'rotating', type: 'user' })).key.id
      const replacement = (await rotateKey(ctx, { id: rotated })).key.id
      clock.advance(120_000)
      const byStatus: Record<string, string[]> = {}
      for (const status of KEY_STATUSES) byStatus[status] = (await listKeys(ctx, { status })).items.map((k) => k.id).sort()
      expect(byStatus).to.deep.equal({
        active: [active, replacement].sort(),
        rotating: [rotated],
        disabled: [disabled],
        revoked: [revoked],
        expired: [expiring],
      })
    })

    it('given type, owner and status filters together, when listing, then all of them apply', async () => {
      const ids = await createSeven()
      await revokeKey(ctx, { id: ids[4]! })
      const page = await listKeys(ctx, { type: 'service', owner: 'bob', status: 'active' })
      expect(page.items.map((k) => k.id)).to.deep.equal([ids[6]])
    })

    for (const [label, cursor] of [
      ['garbage', 'not-a-cursor'],
      ['a cursor for id 0', `c1.${Buffer.from('0').toString('base64url')}`],
      ['a cursor that is not a number', `c1.${Buffer.from('12; drop table api_keys').toString('base64url')}`],
      ['an empty cursor body', 'c1.'],
    ] as const) {
      it(`given ${label}, when used as the cursor, then it is a UsageError (exit 2)`, async () => {
        const error = await rejectionOf(listKeys(ctx, { cursor }))
        expect(error).to.be.instanceOf(UsageError)
        expect(error.reason).to.match(/^"cursor" is not the nextCursor of a previous page/)
      })
    }

    it('given a forged cursor for an id beyond the bigint range, when used as the cursor, then it is a UsageError (not a database error)', async () => {
      const cursor = `c1.${Buffer.from('9999999999999999999').toString('base64url')}`
      const error = await rejectionOf(listKeys(ctx, { cursor }))
      expect(error).to.be.instanceOf(UsageError)
    })

    it('given a limit outside 1..1000, when listing, then it is a UsageError', async () => {
      expect(await rejectionOf(listKeys(ctx, { limit: 0 }))).to.be.instanceOf(UsageError)
      expect(await rejectionOf(listKeys(ctx, { limit: 1001 }))).to.be.instanceOf(UsageError)
    })
  })

  describe('keyStats', () => {
    it('given no keys, when counting, then every type × status cell is zero', async () => {
      const stats = await keyStats(ctx)
      expect(stats.total).to.equal(0)
      for (const type of KEY_TYPES) for (const status of KEY_STATUSES) expect(stats.byTypeAndStatus[type][status]).to.equal(0)
      expect(stats).to.deep.include({ expiringIn7Days: 0, expiringIn30Days: 0, rotationDue: 0 })
    })

    it('given keys in several types and states, when counting, then they are counted by type and status', async () => {
      await createKey(ctx, { name: 'a', type: 'service' })
      await createKey(ctx, { name: 'b', type: 'service' })
      const rotated = (await createKey(ctx, { name: 'c', type: 'system' })).key.id
      await rotateKey(ctx, { id: rotated })
      await revokeKey(ctx, { id: (await createKey(ctx, { name: 'd', type: 'user' })).key.id })
      await disableKey(ctx, { id: (await createKey(ctx, { name: 'e', type: 'user' })).key.id })
      await createKey(ctx, { name: 'f', type: 'integration', expiresInSeconds: 5 * 86_400 })
      await createKey(ctx, { name: 'g', type: 'integration', expiresInSeconds: 20 * 86_400 })
      await createKey(ctx, { name: 'h', type: 'emergency', expiresInSeconds: 60 })
      clock.advance(120_000)
      const stats = await keyStats(ctx)
      expect(stats.total).to.equal(9)
      expect(stats.byStatus).to.deep.equal({ active: 5, rotating: 1, disabled: 1, revoked: 1, expired: 1 })
      expect(stats.byTypeAndStatus.service).to.deep.include({ active: 2 })
      expect(stats.byTypeAndStatus.system).to.deep.include({ active: 1, rotating: 1 })
      expect(stats.byTypeAndStatus.user).to.deep.include({ revoked: 1, disabled: 1, active: 0 })
      expect(stats.byTypeAndStatus.integration).to.deep.include({ active: 2 })
      expect(stats.byTypeAndStatus.emergency).to.deep.include({ expired: 1 })
      expect(stats.expiringIn7Days).to.equal(1)
      expect(stats.expiringIn30Days).to.equal(2)
    })

    it('given keys whose rotation interval has and has not passed, when counting, then rotationDue counts only the passed ones', async () => {
      await createKey(ctx, { name: 'daily', type: 'service', rotateEverySeconds: 86_400 })
      await createKey(ctx, { name: 'weekly', type: 'service', rotateEverySeconds: 7 * 86_400 })
      await createKey(ctx, { name: 'never', type: 'service' })
      clock.advance(2 * DAY)
      expect((await keyStats(ctx)).rotationDue).to.equal(1)
    })
  })

  describe('keyStats and rotateDueKeys agree', () => {
    it('given a disabled key whose interval has passed, when counting, then rotationDue does not count it (rotate --due skips it)', async () => {
      const id = (await createKey(ctx, { name: 'paused', type: 'user', rotateEverySeconds: 3600 })).key.id
      await createKey(ctx, { name: 'due', type: 'user', rotateEverySeconds: 3600 })
      await disableKey(ctx, { id })
      clock.advance(2 * HOUR)
      const stats = await keyStats(ctx)
      const rotated = (await rotateDueKeys(ctx)).rotated.length
      expect(rotated).to.equal(1)
      expect(stats.rotationDue).to.equal(rotated)
    })
  })

  describe('rotateDueKeys', () => {
    it('given keys with and without a passed rotation interval, when rotating due keys, then only the due ones are rotated', async () => {
      const daily = (await createKey(ctx, { name: 'daily', type: 'service', rotateEverySeconds: 86_400 })).key.id
      const weekly = (await createKey(ctx, { name: 'weekly', type: 'service', rotateEverySeconds: 7 * 86_400 })).key.id
      const never = (await createKey(ctx, { name: 'never', type: 'service' })).key.id
      clock.advance(DAY + 1000)
      const result = await rotateDueKeys(ctx)
      expect(result.failed).to.deep.equal([])
      expect(result.rotated.map((r) => r.previous.id)).to.deep.equal([daily])
      expect(parseRawKey(result.rotated[0]!.secret)).to.equal('service')
      expect(result.rotated[0]!.key).to.deep.include({ name: 'daily', rotateEvery: '1d', rotatedFrom: daily })
      const rows = await sql`select key_id, replaced_by from api_keys where key_id in ${sql([weekly, never])}`
      expect(rows.map((r) => r.replaced_by)).to.deep.equal([null, null])
    })

    it('given a key rotated as due, when run again at once, then nothing is rotated until the new key\'s interval passes', async () => {
      await createKey(ctx, { name: 'daily', type: 'service', rotateEverySeconds: 86_400 })
      clock.advance(DAY)
      expect((await rotateDueKeys(ctx)).rotated).to.have.length(1)
      expect((await rotateDueKeys(ctx)).rotated).to.have.length(0)
      clock.advance(DAY)
      const third = await rotateDueKeys(ctx)
      expect(third.rotated).to.have.length(1)
      expect(await count('api_keys')).to.equal(3)
    })

    it('given revoked and expired keys with a passed interval, when rotating due keys, then they are skipped', async () => {
      const revoked = (await createKey(ctx, { name: 'r', type: 'user', rotateEverySeconds: 3600 })).key.id
      await revokeKey(ctx, { id: revoked })
      await createKey(ctx, { name: 'e', type: 'user', rotateEverySeconds: 3600, expiresInSeconds: 7200 })
      clock.advance(3 * HOUR)
      expect(await rotateDueKeys(ctx)).to.deep.equal({ rotated: [], failed: [] })
    })

    it('given a disabled key whose interval has passed, when rotating due keys, then it is skipped (docs/decisions.md)', async () => {
      const id = (await createKey(ctx, { name: 'paused', type: 'user', rotateEverySeconds: 3600 })).key.id
      await disableKey(ctx, { id })
      clock.advance(2 * HOUR)
      expect(await rotateDueKeys(ctx)).to.deep.equal({ rotated: [], failed: [] })
    })

    it('given a due key, when it is rotated by schedule, then the audit row records a scheduled rotation', async () => {
      const id = (await createKey(ctx, { name: 'daily', type: 'user', rotateEverySeconds: 86_400 })).key.id
      clock.advance(DAY)
      await rotateDueKeys(ctx)
      const rows = await auditOf(id)
      expect(rows.at(-1)).to.deep.include({ action: 'key.rotate' })
      expect(rows.at(-1)!.details!.reason).to.equal('scheduled rotation')
    })
  })

  describe('events', () => {
    function record(): MomentryEvent[] {
      const events: MomentryEvent[] = []
      ctx.bus.on('*', (e) => {
        events.push(e)
      })
      return events
    }

    it('given a created key, when the key.created event arrives, then it carries the key and the row is already committed', async () => {
      const committed: boolean[] = []
      const events: MomentryEvent[] = []
      ctx.bus.on('key.created', async (e) => {
        events.push(e)
        const rows = await observer`select 1 from api_keys where key_id = ${e.keyId}`
        committed.push(rows.length === 1)
      })
      const { secret, key } = await createKey(ctx, { name: 'evented', type: 'user' })
      await ctx.bus.drain()
      expect(events).to.deep.equal([{ type: 'key.created', keyId: key.id, name: 'evented', keyType: 'user', rotatedFrom: null, at: T0 }])
      expect(committed).to.deep.equal([true])
      expect(JSON.stringify(events)).not.to.include(secret)
    })

    it('given a rotation, when events arrive, then key.created (with rotatedFrom) and key.rotated are emitted after commit', async () => {
      const { key: old } = await createKey(ctx, { name: 'k', type: 'service' })
      const events = record()
      const committed: (string | null)[] = []
      ctx.bus.on('key.rotated', async (e) => {
        const [row] = await observer`select replaced_by from api_keys where key_id = ${e.keyId}`
        committed.push(row!.replaced_by)
      })
      const { key } = await rotateKey(ctx, { id: old.id })
      await ctx.bus.drain()
      expect(events).to.deep.equal([
        { type: 'key.created', keyId: key.id, name: 'k', keyType: 'service', rotatedFrom: old.id, at: T0 },
        { type: 'key.rotated', keyId: old.id, newKeyId: key.id, graceExpiresAt: plus(T0, 48 * HOUR), revokedNow: false, at: T0 },
      ])
      expect(committed).to.deep.equal([key.id])
    })

    it('given a forced rotation, when key.rotated arrives, then revokedNow is true and there is no grace', async () => {
      const { key: old } = await createKey(ctx, { name: 'k', type: 'service' })
      const events = record()
      await rotateKey(ctx, { id: old.id, force: true })
      await ctx.bus.drain()
      expect(events.find((e) => e.type === 'key.rotated')).to.deep.include({ revokedNow: true, graceExpiresAt: null })
    })

    it('given revoke, disable and enable, when events arrive, then key.revoked, key.disabled and key.enabled are emitted after commit', async () => {
      const a = (await createKey(ctx, { name: 'a', type: 'user' })).key.id
      const b = (await createKey(ctx, { name: 'b', type: 'user' })).key.id
      const events = record()
      const seen: string[] = []
      ctx.bus.on('*', async (e) => {
        if (!('keyId' in e)) return
        const [row] = await observer`select revoked_at is not null as revoked, enabled from api_keys where key_id = ${e.keyId}`
        seen.push(`${e.type}:${row!.revoked ? 'revoked' : row!.enabled ? 'enabled' : 'disabled'}`)
      })
      await revokeKey(ctx, { id: a, reason: 'done' })
      await disableKey(ctx, { id: b, reason: 'pause' })
      await ctx.bus.drain() // the disabled state must be observed before enable runs
      await enableKey(ctx, { id: b })
      await ctx.bus.drain()
      expect(events).to.deep.equal([
        { type: 'key.revoked', keyId: a, reason: 'done', at: T0 },
        { type: 'key.disabled', keyId: b, reason: 'pause', at: T0 },
        { type: 'key.enabled', keyId: b, at: T0 },
      ])
      expect(seen).to.deep.equal(['key.revoked:revoked', 'key.disabled:disabled', 'key.enabled:enabled'])
    })

    it('given an operation that fails, when it is rejected, then no event is emitted', async () => {
      const { key } = await createKey(ctx, { name: 'k', type: 'user' })
      await revokeKey(ctx, { id: key.id })
      const events = record()
      await rejectionOf(revokeKey(ctx, { id: key.id }))
      await rejectionOf(rotateKey(ctx, { id: key.id }))
      await rejectionOf(createKey(ctx, { name: '', type: 'user' }))
      await ctx.bus.drain()
      expect(events).to.deep.equal([])
    })
  })
})
