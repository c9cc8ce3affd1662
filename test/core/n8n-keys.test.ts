import { expect } from 'chai'

import { fixedClock } from '../../src/core/clock.js'
import type { CoreContext } from '../../src/core/context.js'
import type { Sql } from '../../src/core/db/connect.js'
import { ConflictError, ExternalServiceError, NotFoundError, RemoteConflictError, RemoteNotFoundError } from '../../src/core/errors.js'
import type { MomentryEvent } from '../../src/core/events.js'
import type { N8nSession } from '../../src/core/n8n/n8n-client.js'
import { loginN8n, n8nTarget } from '../../src/core/n8n/n8n-client.js'
import { createN8nKey, deleteN8nKey, listN8nKeys, rotateN8nKey } from '../../src/core/n8n/n8n-keys.js'
import { auditRows, openTestSql, testContext, truncateAll } from '../helpers/db.js'
import type { FakeN8n } from '../helpers/fake-n8n.js'
import { startFakeN8n } from '../helpers/fake-n8n.js'
import { advisoryLockHeld, capturingLogger, expectNoPartOf, failFromRequest, refuseInsertsInto, rejectionOf } from './remote-credential-support.js'

const T0 = '2031-03-01T12:00:00.000Z'
const DAY = 86_400_000

describe('n8n API keys (core services against the contract fake)', () => {
  let sql: Sql
  let n8n: FakeN8n
  let ctx: CoreContext
  let owner: N8nSession
  let member: N8nSession
  let events: MomentryEvent[]
  let cleanups: (() => Promise<void>)[]

  before(() => {
    sql = openTestSql()
  })
  after(() => sql.end())

  beforeEach(async () => {
    await truncateAll(sql)
    n8n = await startFakeN8n()
    ctx = testContext(sql, { clock: fixedClock(T0), actor: 'test:n8n' })
    events = []
    ctx.bus.on('*', (e) => void events.push(e))
    owner = await loginN8n(n8nTarget(n8n.url, 2), 'owner@example.com', 'Owner-pw1')
    member = await loginN8n(n8nTarget(n8n.url, 2), 'member@example.com', 'Member-pw1')
    n8n.seen.length = 0
    cleanups = []
  })
  afterEach(async () => {
    for (const undo of cleanups) await undo()
    await ctx.bus.drain()
    await n8n.close()
  })

  const rows = () => sql`select n8n_url, n8n_key_id, label, scopes, last4, expires_at, created_at, created_by, n8n_user_id, n8n_user, deleted_at from n8n_api_keys order by id`
  const audit = async () => (await auditRows(sql)).map((r) => ({ action: r.action, key_id: r.keyId, actor: r.actor, details: r.details }))
  const types = () => events.map((e) => e.type)
  const writes = () => n8n.seen.filter((r) => r.method !== 'GET').map((r) => r.method)

  describe('createN8nKey', () => {
    it('given an owner session, when a key with a lifetime is created, then one row (last four only, its owner, its expiry) and its audit row are written', async () => {
      const issued = await createN8nKey(ctx, owner, { label: 'ci', scopes: ['workflow:read', 'workflow:list'], expiresInSeconds: 30 * 86_400 })
      const key = n8n.keys[0]!
      expect(issued.secret).to.equal(key.rawApiKey)
      expect(await rows()).to.deep.equal([
        {
          n8n_url: n8n.url,
          n8n_key_id: key.id,
          label: 'ci',
          scopes: ['workflow:read', 'workflow:list'],
          last4: key.rawApiKey.slice(-4),
          expires_at: new Date(Date.parse(T0) + 30 * DAY),
          created_at: new Date(T0),
          created_by: 'test:n8n',
          n8n_user_id: 'u1',
          n8n_user: 'owner@example.com',
          deleted_at: null,
        },
      ])
      expect(await audit()).to.deep.equal([
        { action: 'n8n.key.create', key_id: null, actor: 'test:n8n', details: { n8nUrl: n8n.url, n8nKeyId: key.id, label: 'ci', scopes: ['workflow:read', 'workflow:list'] } },
      ])
    })

    it('given a key created, then `n8n.key.created` is on the bus with id, label, owner, scopes and expiry, and no part of the secret', async () => {
      const issued = await createN8nKey(ctx, owner, { label: 'ci', scopes: ['workflow:read'], expiresInSeconds: 86_400 })
      expect(events).to.deep.equal([
        {
          type: 'n8n.key.created',
          n8nUrl: n8n.url,
          n8nKeyId: issued.key.id,
          label: 'ci',
          owner: 'owner@example.com',
          scopes: ['workflow:read'],
          expiresAt: new Date(Date.parse(T0) + DAY).toISOString(),
          rotatedFrom: null,
          at: T0,
        },
      ])
      expectNoPartOf(issued.secret, 4, events)
    })

    it('given a label the user already has, when a key is created, then it is momentry’s own ConflictError (exit 6) and nothing is sent', async () => {
      await createN8nKey(ctx, owner, { label: 'ci', scopes: ['workflow:read'] })
      const error = await rejectionOf(createN8nKey(ctx, owner, { label: 'ci', scopes: ['workflow:read'] }))
      expect(error).to.be.instanceOf(ConflictError).and.not.instanceOf(RemoteConflictError)
      expect(error).to.include({ code: 'CONFLICT', exitCode: 6 })
      expect(writes()).to.deep.equal(['POST'])
    })

    it('given PostgreSQL refuses the insert, when a key is created, then the error surfaces, the key is deleted in n8n again, and nothing is recorded or announced', async () => {
      cleanups.push(await refuseInsertsInto(sql, 'n8n_api_keys'))
      const error = await createN8nKey(ctx, owner, { label: 'ci', scopes: ['workflow:read'] }).then(
        () => expect.fail('expected a rejection'),
        (e: Error) => e,
      )
      expect(error.message).to.include('insert refused by the test')
      expect(n8n.keys).to.have.length(0)
      expect(writes()).to.deep.equal(['POST', 'DELETE'])
      expect(await rows()).to.have.length(0)
      expect(await audit()).to.have.length(0)
      expect(events).to.have.length(0)
    })

    it('given the insert fails and n8n then fails the delete too, when a key is created, then a warning names the key to delete by hand', async () => {
      const log = capturingLogger()
      cleanups.push(await refuseInsertsInto(sql, 'n8n_api_keys'))
      failFromRequest(n8n, 4) // scopes, label check and POST work; the undo's DELETE gets a 500
      await createN8nKey({ ...ctx, log }, owner, { label: 'ci', scopes: ['workflow:read'] }).catch(() => {})
      expect(n8n.keys).to.have.length(1)
      expect(log.warnings).to.have.length(1)
      expect(log.warnings[0]).to.match(new RegExp(`^n8n key ${n8n.keys[0]!.id} was created but could not be recorded or deleted again \\(.*500.*\\); delete it in n8n$`))
      expectNoPartOf(n8n.keys[0]!.rawApiKey, 4, log.warnings)
    })
  })

  describe('listN8nKeys', () => {
    it('given tracked keys, one deleted in n8n, and one made in the UI, when the owner lists, then drift is flagged both ways', async () => {
      const kept = await createN8nKey(ctx, owner, { label: 'kept', scopes: ['workflow:read'] })
      const gone = await createN8nKey(ctx, owner, { label: 'gone', scopes: ['workflow:read'] })
      n8n.keys.splice(n8n.keys.findIndex((k) => k.id === gone.key.id), 1)
      n8n.keys.push({ id: 'UiMadeKey0000001', label: 'from-ui', rawApiKey: `${'x'.repeat(40)}wxyz`, userId: 'u1', scopes: ['workflow:list'], createdAt: T0, expiresAt: null })

      const list = await listN8nKeys(ctx, owner)
      expect(list).to.include({ user: 'owner@example.com', otherUsers: 0, complete: true })
      expect(list.drift).to.deep.equal({ gone: 1, untracked: 1 })
      expect(list.items.map((k) => [k.id, k.tracked, k.onServer, k.drift])).to.deep.equal([
        [gone.key.id, true, false, 'gone'],
        [kept.key.id, true, true, null],
        ['UiMadeKey0000001', false, true, 'untracked'],
      ])
      expect(list.items.at(-1)).to.include({ last4: 'wxyz', owner: 'owner@example.com' })
    })

    it('given a tracked key of another n8n user, when the member lists, then it is shown without a verdict and counted as another user’s', async () => {
      const theirs = await createN8nKey(ctx, owner, { label: 'owner-key', scopes: ['workflow:read'] })
      const list = await listN8nKeys(ctx, member)
      expect(list).to.include({ user: 'member@example.com', otherUsers: 1 })
      expect(list.drift).to.deep.equal({ gone: 0, untracked: 0 })
      expect(list.items).to.have.length(1)
      expect(list.items[0]).to.include({ id: theirs.key.id, owner: 'owner@example.com', onServer: null, drift: null })
    })

    it('given n8n sends only part of its list, when a tracked key is missing from it, then nothing is called gone and the list says it is incomplete', async () => {
      await createN8nKey(ctx, owner, { label: 'first', scopes: ['workflow:read'] })
      const second = await createN8nKey(ctx, owner, { label: 'second', scopes: ['workflow:read'] })
      n8n.pagedList = true
      n8n.pageSize = 1
      const list = await listN8nKeys(ctx, owner)
      expect(list).to.include({ complete: false })
      expect(list.drift).to.deep.equal({ gone: 0, untracked: 0 })
      expect(list.items.find((k) => k.id === second.key.id)).to.include({ onServer: null, drift: null })
    })

    it('given a record with an outdated owner, when n8n lists the key for this login, then the record is corrected', async () => {
      const { key } = await createN8nKey(ctx, owner, { label: 'ci', scopes: ['workflow:read'] })
      await sql`update n8n_api_keys set n8n_user = 'old-address@example.com', n8n_user_id = null`
      await listN8nKeys(ctx, owner)
      expect(await sql`select n8n_user, n8n_user_id from n8n_api_keys where n8n_key_id = ${key.id}`).to.deep.equal([{ n8n_user: 'owner@example.com', n8n_user_id: 'u1' }])
    })
  })

  describe('deleteN8nKey', () => {
    it('given a listed key, when it is deleted, then it is re-listed to confirm, the row is marked deleted with an audit row, and `n8n.key.deleted` is emitted', async () => {
      const { key } = await createN8nKey(ctx, owner, { label: 'ci', scopes: ['workflow:read'] })
      events.length = 0
      n8n.seen.length = 0
      expect(await deleteN8nKey(ctx, owner, { id: key.id })).to.deep.equal({ id: key.id, label: 'ci', tracked: true, confirmed: true })
      expect(n8n.seen.map((r) => r.method)).to.deep.equal(['GET', 'DELETE', 'GET'])
      expect((await rows())[0]!.deleted_at).to.deep.equal(new Date(T0))
      expect((await audit()).at(-1)).to.deep.include({ action: 'n8n.key.delete', details: { n8nUrl: n8n.url, n8nKeyId: key.id, label: 'ci' } })
      expect(events).to.deep.equal([
        { type: 'n8n.key.deleted', n8nUrl: n8n.url, n8nKeyId: key.id, label: 'ci', owner: 'owner@example.com', tracked: true, alreadyGone: false, replacedBy: null, at: T0 },
      ])
    })

    it('given an id n8n does not list and momentry does not track, when it is deleted, then it is a RemoteNotFoundError (exit 5) and no DELETE is sent', async () => {
      const error = await rejectionOf(deleteN8nKey(ctx, owner, { id: 'NoSuchKey123' }))
      expect(error).to.be.instanceOf(RemoteNotFoundError).and.instanceOf(NotFoundError)
      expect(error).to.include({ code: 'NOT_FOUND', exitCode: 5, status: undefined })
      expect(writes()).to.deep.equal([])
    })

    it('given another n8n user’s tracked key, when the member deletes it, then it is a RemoteNotFoundError naming its owner and nothing is sent or changed', async () => {
      const { key } = await createN8nKey(ctx, owner, { label: 'owner-key', scopes: ['workflow:read'] })
      n8n.seen.length = 0
      events.length = 0
      const error = await rejectionOf(deleteN8nKey(ctx, member, { id: key.id }))
      expect(error).to.be.instanceOf(RemoteNotFoundError)
      expect(error.message).to.match(/belongs to the n8n user owner@example\.com, not member@example\.com/)
      expect(writes()).to.deep.equal([])
      expect((await rows())[0]!.deleted_at).to.equal(null)
      expect(events).to.have.length(0)
    })

    it('given n8n answers the delete with success but keeps the key, when it is deleted, then it is an ExternalServiceError, the key stays tracked and nothing is announced', async () => {
      const { key } = await createN8nKey(ctx, owner, { label: 'ci', scopes: ['workflow:read'] })
      n8n.ignoreDeletes = true
      events.length = 0
      const error = await rejectionOf(deleteN8nKey(ctx, owner, { id: key.id }))
      expect(error).to.be.instanceOf(ExternalServiceError)
      expect(error.message).to.match(/still lists the key/)
      expect((await rows())[0]!.deleted_at).to.equal(null)
      expect(events).to.have.length(0)
    })

    it('given the owner’s tracked key already deleted in n8n, when it is deleted, then momentry stops tracking it, sends no DELETE, and says it was already gone', async () => {
      const { key } = await createN8nKey(ctx, owner, { label: 'ci', scopes: ['workflow:read'] })
      n8n.keys.length = 0
      events.length = 0
      expect(await deleteN8nKey(ctx, owner, { id: key.id })).to.deep.equal({ id: key.id, label: 'ci', tracked: true, confirmed: true, alreadyGone: true })
      expect(writes()).to.deep.equal(['POST'])
      expect((await audit()).at(-1)!.details).to.include({ alreadyGone: true })
      expect(events).to.have.length(1)
      expect(events[0]).to.include({ type: 'n8n.key.deleted', tracked: true, alreadyGone: true })
    })
  })

  describe('rotateN8nKey', () => {
    it('given a tracked key with a lifetime, when it is rotated, then the replacement (derived label, same scopes and lifetime) is recorded, the old one deleted, and the audit rows link them', async () => {
      const old = await createN8nKey(ctx, owner, { label: 'ci', scopes: ['workflow:read', 'workflow:list'], expiresInSeconds: 30 * 86_400 })
      const rotated = await rotateN8nKey(ctx, owner, { id: old.key.id })
      expect(rotated.key).to.include({ label: 'ci-rot-20310301T120000Z', expiresAt: new Date(Date.parse(T0) + 30 * DAY).toISOString() })
      expect(rotated.key.scopes).to.deep.equal(['workflow:read', 'workflow:list'])
      expect(rotated.previous).to.deep.equal({ id: old.key.id, deleted: true })
      expect(n8n.keys.map((k) => k.rawApiKey)).to.deep.equal([rotated.secret])
      const trail = await audit()
      expect(trail.map((a) => a.action)).to.deep.equal(['n8n.key.create', 'n8n.key.rotate', 'n8n.key.delete'])
      expect(trail[1]!.details).to.include({ n8nKeyId: rotated.key.id, rotatedFrom: old.key.id })
      expect(trail[2]!.details).to.include({ n8nKeyId: old.key.id, replacedBy: rotated.key.id })
    })

    it('given a rotation, then the bus carries created (rotatedFrom), deleted (replacedBy) and rotated naming both, in that order and without any secret', async () => {
      const old = await createN8nKey(ctx, owner, { label: 'ci', scopes: ['workflow:read'] })
      events.length = 0
      const rotated = await rotateN8nKey(ctx, owner, { id: old.key.id })
      expect(types()).to.deep.equal(['n8n.key.created', 'n8n.key.deleted', 'n8n.key.rotated'])
      expect(events[0]).to.include({ n8nKeyId: rotated.key.id, rotatedFrom: old.key.id })
      expect(events[1]).to.include({ n8nKeyId: old.key.id, replacedBy: rotated.key.id, tracked: true, alreadyGone: false })
      expect(events[2]).to.deep.equal({
        type: 'n8n.key.rotated',
        n8nUrl: n8n.url,
        owner: 'owner@example.com',
        n8nKeyId: old.key.id,
        label: 'ci',
        newN8nKeyId: rotated.key.id,
        newLabel: 'ci-rot-20310301T120000Z',
        scopes: ['workflow:read'],
        previousDeleted: true,
        at: T0,
      })
      expectNoPartOf(old.secret, 4, events)
      expectNoPartOf(rotated.secret, 4, events)
    })

    it('given a 50-character label, when it is rotated, then the new label still fits n8n’s 50 characters', async () => {
      const old = await createN8nKey(ctx, owner, { label: 'l'.repeat(50), scopes: ['workflow:read'] })
      const rotated = await rotateN8nKey(ctx, owner, { id: old.key.id })
      expect(rotated.key.label).to.equal(`${'l'.repeat(29)}-rot-20310301T120000Z`)
    })

    it('given n8n keeps the old key after its delete, when it is rotated, then the new secret is still returned, the failure is reported, and no deleted event is emitted', async () => {
      const old = await createN8nKey(ctx, owner, { label: 'ci', scopes: ['workflow:read'] })
      n8n.ignoreDeletes = true
      events.length = 0
      const rotated = await rotateN8nKey(ctx, owner, { id: old.key.id })
      expect(rotated.secret).to.equal(n8n.keys[1]!.rawApiKey)
      expect(rotated.previous).to.deep.include({ id: old.key.id, deleted: false })
      expect(rotated.previous.error).to.deep.include({ status: 200 })
      expect(rotated.previous.error!.message).to.match(/still lists the key/)
      expect(types()).to.deep.equal(['n8n.key.created', 'n8n.key.rotated'])
      expect(events[1]).to.include({ previousDeleted: false })
    })

    it('given a tracked key n8n no longer lists for this login, when it is rotated, then it is a RemoteNotFoundError and nothing is created', async () => {
      const old = await createN8nKey(ctx, owner, { label: 'ci', scopes: ['workflow:read'] })
      n8n.keys.length = 0
      n8n.seen.length = 0
      const error = await rejectionOf(rotateN8nKey(ctx, owner, { id: old.key.id }))
      expect(error).to.be.instanceOf(RemoteNotFoundError)
      expect(error.message).to.match(/is not among the keys of owner@example\.com/)
      expect(writes()).to.deep.equal([])
    })

    it('given a rotation under way, when the same key is rotated again, then the second is a ConflictError at once and only one replacement is made', async () => {
      const old = await createN8nKey(ctx, owner, { label: 'ci', scopes: ['workflow:read'] })
      n8n.delayMs = 200
      const first = rotateN8nKey(ctx, owner, { id: old.key.id })
      await advisoryLockHeld(sql)
      const second = await rejectionOf(rotateN8nKey(ctx, owner, { id: old.key.id }))
      expect(second).to.be.instanceOf(ConflictError)
      expect(second.message).to.equal(`n8n API key ${old.key.id} is being rotated by another momentry process`)
      expect((await first).previous.deleted).to.equal(true)
      expect(n8n.keys).to.have.length(1)
    })
  })
})
