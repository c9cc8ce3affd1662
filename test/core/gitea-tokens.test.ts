import { expect } from 'chai'

import { fixedClock } from '../../src/core/clock.js'
import type { CoreContext } from '../../src/core/context.js'
import type { Sql } from '../../src/core/db/connect.js'
import { ConflictError, NotFoundError, RemoteConflictError, RemoteNotFoundError } from '../../src/core/errors.js'
import type { MomentryEvent } from '../../src/core/events.js'
import type { GiteaSession } from '../../src/core/gitea/gitea-client.js'
import { giteaTarget } from '../../src/core/gitea/gitea-client.js'
import { createGiteaToken, deleteGiteaToken, listGiteaTokens, rotateGiteaToken } from '../../src/core/gitea/gitea-tokens.js'
import { addWebhook } from '../../src/core/webhooks/webhooks.js'
import { auditRows, openTestSql, testContext, truncateAll } from '../helpers/db.js'
import type { FakeGitea } from '../helpers/fake-gitea.js'
import { startFakeGitea } from '../helpers/fake-gitea.js'
import { advisoryLockHeld, capturingLogger, expectNoPartOf, failFromRequest, refuseInsertsInto, rejectionOf } from './remote-credential-support.js'

const T0 = '2031-03-01T12:00:00.000Z'

describe('Gitea tokens (core services against the contract fake)', () => {
  let sql: Sql
  let gitea: FakeGitea
  let ctx: CoreContext
  let session: GiteaSession
  let events: MomentryEvent[]
  let cleanups: (() => Promise<void>)[]

  before(() => {
    sql = openTestSql()
  })
  after(() => sql.end())

  beforeEach(async () => {
    await truncateAll(sql)
    gitea = await startFakeGitea()
    ctx = testContext(sql, { clock: fixedClock(T0), actor: 'test:gitea' })
    events = []
    ctx.bus.on('*', (e) => void events.push(e))
    session = { target: giteaTarget(gitea.url, 2), username: 'admin', password: 'admin-pw' }
    cleanups = []
  })
  afterEach(async () => {
    for (const undo of cleanups) await undo()
    await ctx.bus.drain()
    await gitea.close()
  })

  const rows = () => sql`select gitea_url, gitea_token_id::int as id, username, token_name, scopes, token_last_eight, created_at, created_by, deleted_at from gitea_tokens order by id`
  const audit = async () => (await auditRows(sql)).map((r) => ({ action: r.action, key_id: r.keyId, actor: r.actor, details: r.details }))
  const types = () => events.map((e) => e.type)

  describe('createGiteaToken', () => {
    it('given an admin session, when a token is created for another user, then one row (Gitea’s normalised scopes, last eight only) and its audit row are written', async () => {
      const issued = await createGiteaToken(ctx, session, { user: 'alice', name: 'deploy', scopes: ['read:repository', 'write:repository'] })
      const minted = gitea.tokens[0]!
      expect(issued.secret).to.equal(minted.sha1)
      expect(await rows()).to.deep.equal([
        { gitea_url: gitea.url, id: minted.id, username: 'alice', token_name: 'deploy', scopes: ['write:repository'], token_last_eight: minted.sha1.slice(-8), created_at: new Date(T0), created_by: 'test:gitea', deleted_at: null },
      ])
      expect(await audit()).to.deep.equal([
        { action: 'gitea.token.create', key_id: null, actor: 'test:gitea', details: { giteaUrl: gitea.url, user: 'alice', tokenId: minted.id, name: 'deploy', scopes: ['write:repository'] } },
      ])
      expect(issued.token).to.include({ id: minted.id, user: 'alice', tracked: true, onServer: true, drift: null })
    })

    it('given a token created, then `gitea.token.created` is on the bus with ids, name, user and scopes, and no part of the secret', async () => {
      const issued = await createGiteaToken(ctx, session, { user: 'alice', name: 'deploy', scopes: ['read:issue'] })
      expect(events).to.deep.equal([
        { type: 'gitea.token.created', giteaUrl: gitea.url, tokenId: issued.token.id, user: 'alice', name: 'deploy', scopes: ['read:issue'], rotatedFrom: null, at: T0 },
      ])
      expectNoPartOf(issued.secret, 8, events)
    })

    it('given PostgreSQL refuses the insert, when a token is created, then the error surfaces, the token is deleted in Gitea again, and nothing is recorded or announced', async () => {
      cleanups.push(await refuseInsertsInto(sql, 'gitea_tokens'))
      const error = await createGiteaToken(ctx, session, { user: 'alice', name: 'deploy', scopes: ['read:issue'] }).then(
        () => expect.fail('expected a rejection'),
        (e: Error) => e,
      )
      expect(error.message).to.include('insert refused by the test')
      expect(gitea.tokens).to.have.length(0)
      expect(gitea.seen.map((r) => r.method)).to.deep.equal(['POST', 'DELETE'])
      expect(await rows()).to.have.length(0)
      expect(await audit()).to.have.length(0)
      expect(events).to.have.length(0)
    })

    it('given the insert fails and Gitea then refuses the delete too, when a token is created, then a warning names the token to delete by hand', async () => {
      const log = capturingLogger()
      const noisy: CoreContext = { ...ctx, log }
      cleanups.push(await refuseInsertsInto(sql, 'gitea_tokens'))
      failFromRequest(gitea, 2) // the POST works, the undo's DELETE gets a 500
      await createGiteaToken(noisy, session, { user: 'alice', name: 'deploy', scopes: ['read:issue'] }).catch(() => {})
      expect(gitea.tokens).to.have.length(1)
      expect(log.warnings).to.have.length(1)
      expect(log.warnings[0]).to.match(new RegExp(`^Gitea token ${gitea.tokens[0]!.id} was created but could not be recorded or deleted again \\(.*500.*\\); delete it in Gitea$`))
      expectNoPartOf(gitea.tokens[0]!.sha1, 8, log.warnings)
    })

    it('given a name the user already has, when a token is created, then it is a RemoteConflictError (exit 6, status 400) and nothing is recorded', async () => {
      gitea.addToken('alice', 'deploy', ['read:issue'])
      const error = await rejectionOf(createGiteaToken(ctx, session, { user: 'alice', name: 'deploy', scopes: ['read:issue'] }))
      expect(error).to.be.instanceOf(RemoteConflictError).and.instanceOf(ConflictError)
      expect(error).to.include({ code: 'CONFLICT', exitCode: 6, status: 400 })
      expect(await rows()).to.have.length(0)
      expect(events).to.have.length(0)
    })
  })

  describe('listGiteaTokens', () => {
    it('given tracked tokens, one deleted and one renamed in Gitea, and one made in the UI, then each gets its drift verdict and Gitea’s name wins', async () => {
      const kept = await createGiteaToken(ctx, session, { user: 'alice', name: 'kept', scopes: ['read:issue'] })
      const gone = await createGiteaToken(ctx, session, { user: 'alice', name: 'gone', scopes: ['read:issue'] })
      gitea.tokens.splice(gitea.tokens.findIndex((t) => t.id === gone.token.id), 1)
      gitea.tokens.find((t) => t.id === kept.token.id)!.name = 'kept-renamed'
      const ui = gitea.addToken('alice', 'from-ui', ['read:user'])

      const list = await listGiteaTokens(ctx, session, { user: 'alice' })
      expect(list.drift).to.deep.equal({ gone: 1, untracked: 1 })
      expect(list.items.map((t) => [t.id, t.name, t.tracked, t.onServer, t.drift])).to.deep.equal([
        [ui.id, 'from-ui', false, true, 'untracked'],
        [gone.token.id, 'gone', true, false, 'gone'],
        [kept.token.id, 'kept-renamed', true, true, null],
      ])
    })
  })

  describe('deleteGiteaToken', () => {
    it('given a tracked token, when it is deleted, then Gitea no longer has it, the row is marked deleted with an audit row, and `gitea.token.deleted` is emitted', async () => {
      const { token } = await createGiteaToken(ctx, session, { user: 'alice', name: 'deploy', scopes: ['read:issue'] })
      events.length = 0
      const deleted = await deleteGiteaToken(ctx, session, { id: String(token.id) })
      expect(deleted).to.deep.equal({ id: token.id, user: 'alice', tracked: true })
      expect(gitea.tokens).to.have.length(0)
      expect((await rows())[0]!.deleted_at).to.deep.equal(new Date(T0))
      expect((await audit()).at(-1)).to.deep.include({ action: 'gitea.token.delete', details: { giteaUrl: gitea.url, user: 'alice', tokenId: token.id } })
      expect(events).to.deep.equal([
        { type: 'gitea.token.deleted', giteaUrl: gitea.url, tokenId: token.id, user: 'alice', name: 'deploy', tracked: true, alreadyGone: false, replacedBy: null, at: T0 },
      ])
    })

    it('given a tracked token already deleted in Gitea, when it is deleted, then momentry stops tracking it and says it was already gone', async () => {
      const { token } = await createGiteaToken(ctx, session, { user: 'alice', name: 'deploy', scopes: ['read:issue'] })
      gitea.tokens.length = 0
      events.length = 0
      expect(await deleteGiteaToken(ctx, session, { id: String(token.id) })).to.deep.equal({ id: token.id, user: 'alice', tracked: true, alreadyGone: true })
      expect((await audit()).at(-1)!.details).to.include({ alreadyGone: true })
      expect(events).to.have.length(1)
      expect(events[0]).to.include({ type: 'gitea.token.deleted', tracked: true, alreadyGone: true })
    })

    it('given an id neither Gitea nor momentry knows, when it is deleted, then it is a RemoteNotFoundError (exit 5, status 404) and nothing is written or announced', async () => {
      const error = await rejectionOf(deleteGiteaToken(ctx, session, { id: '4242', user: 'alice' }))
      expect(error).to.be.instanceOf(RemoteNotFoundError).and.instanceOf(NotFoundError)
      expect(error).to.include({ code: 'NOT_FOUND', exitCode: 5, status: 404 })
      expect(error.message).to.equal('Gitea has no token 4242 for alice (404)')
      expect(await audit()).to.have.length(0)
      expect(events).to.have.length(0)
    })
  })

  describe('rotateGiteaToken', () => {
    it('given a tracked token, when it is rotated, then the replacement (derived name, same scopes) is recorded, the old one deleted, and the audit rows link them', async () => {
      const old = await createGiteaToken(ctx, session, { user: 'alice', name: 'ci', scopes: ['read:repository', 'write:issue'] })
      const rotated = await rotateGiteaToken(ctx, session, { id: String(old.token.id) })
      expect(rotated.token).to.include({ name: 'ci-rot-20310301T120000Z', user: 'alice' })
      expect(rotated.token.scopes).to.deep.equal(['read:repository', 'write:issue'])
      expect(rotated.previous).to.deep.equal({ id: old.token.id, name: 'ci', deleted: true })
      expect(gitea.tokens.map((t) => t.sha1)).to.deep.equal([rotated.secret])
      expect((await rows()).map((r) => [r.id, r.deleted_at !== null])).to.deep.equal([
        [old.token.id, true],
        [rotated.token.id, false],
      ])
      const trail = await audit()
      expect(trail.map((a) => a.action)).to.deep.equal(['gitea.token.create', 'gitea.token.rotate', 'gitea.token.delete'])
      expect(trail[1]!.details).to.include({ tokenId: rotated.token.id, rotatedFrom: old.token.id })
      expect(trail[2]!.details).to.include({ tokenId: old.token.id, replacedBy: rotated.token.id })
    })

    it('given a rotation, then the bus carries created (rotatedFrom), deleted (replacedBy) and rotated naming both, in that order and without any secret', async () => {
      const old = await createGiteaToken(ctx, session, { user: 'alice', name: 'ci', scopes: ['read:issue'] })
      events.length = 0
      const rotated = await rotateGiteaToken(ctx, session, { id: String(old.token.id) })
      expect(types()).to.deep.equal(['gitea.token.created', 'gitea.token.deleted', 'gitea.token.rotated'])
      expect(events[0]).to.include({ tokenId: rotated.token.id, rotatedFrom: old.token.id })
      expect(events[1]).to.include({ tokenId: old.token.id, replacedBy: rotated.token.id, tracked: true, alreadyGone: false })
      expect(events[2]).to.deep.equal({
        type: 'gitea.token.rotated',
        giteaUrl: gitea.url,
        user: 'alice',
        tokenId: old.token.id,
        name: 'ci',
        newTokenId: rotated.token.id,
        newName: 'ci-rot-20310301T120000Z',
        scopes: ['read:issue'],
        previousDeleted: true,
        at: T0,
      })
      expectNoPartOf(old.secret, 8, events)
      expectNoPartOf(rotated.secret, 8, events)
    })

    it('given Gitea fails the delete of the old token, when it is rotated, then the new secret is still returned, the failure is reported, and no deleted event is emitted', async () => {
      const old = await createGiteaToken(ctx, session, { user: 'alice', name: 'ci', scopes: ['read:issue'] })
      events.length = 0
      failFromRequest(gitea, 2) // the replacement's POST works, the DELETE of the old one gets a 500
      const rotated = await rotateGiteaToken(ctx, session, { id: String(old.token.id) })
      expect(rotated.secret).to.equal(gitea.tokens[1]!.sha1)
      expect(rotated.previous).to.deep.include({ id: old.token.id, deleted: false })
      expect(rotated.previous.error).to.include({ status: 500 })
      expect(await sql`select gitea_token_id::int as id from gitea_tokens where deleted_at is null order by id`).to.deep.equal([{ id: old.token.id }, { id: rotated.token.id }])
      expect(types()).to.deep.equal(['gitea.token.created', 'gitea.token.rotated'])
      expect(events[1]).to.include({ previousDeleted: false })
    })

    it('given the old token was already deleted in Gitea, when it is rotated, then that counts as deleted', async () => {
      const old = await createGiteaToken(ctx, session, { user: 'alice', name: 'ci', scopes: ['read:issue'] })
      gitea.tokens.length = 0
      const rotated = await rotateGiteaToken(ctx, session, { id: String(old.token.id) })
      expect(rotated.previous).to.deep.equal({ id: old.token.id, name: 'ci', deleted: true })
      expect(gitea.tokens).to.have.length(1)
    })

    it('given a token momentry does not track, when it is rotated, then it is a NotFoundError of momentry’s own (not Gitea’s) and nothing is created', async () => {
      const ui = gitea.addToken('alice', 'from-ui', ['read:user'])
      const error = await rejectionOf(rotateGiteaToken(ctx, session, { id: String(ui.id) }))
      expect(error).to.be.instanceOf(NotFoundError).and.not.instanceOf(RemoteNotFoundError)
      expect(error.exitCode).to.equal(5)
      expect(gitea.seen.filter((r) => r.method === 'POST')).to.have.length(0)
    })

    it('given a rotation under way, when the same token is rotated again, then the second is a ConflictError at once and only one replacement is made', async () => {
      const old = await createGiteaToken(ctx, session, { user: 'alice', name: 'ci', scopes: ['read:issue'] })
      gitea.delayMs = 300
      const first = rotateGiteaToken(ctx, session, { id: String(old.token.id) })
      await advisoryLockHeld(sql)
      const second = await rejectionOf(rotateGiteaToken(ctx, session, { id: String(old.token.id) }))
      expect(second).to.be.instanceOf(ConflictError)
      expect(second).to.include({ code: 'CONFLICT', exitCode: 6 })
      expect(second.message).to.equal(`Gitea token ${old.token.id} is being rotated by another momentry process`)
      expect((await first).previous.deleted).to.equal(true)
      expect(gitea.tokens).to.have.length(1)
    })
  })

  describe('webhooks', () => {
    it('given a webhook subscribed to gitea.token.created, when a token is created, then a delivery is queued whose payload holds no part of the secret', async () => {
      await addWebhook(ctx, { url: 'http://127.0.0.1:9/hook', events: ['gitea.token.created'] })
      const issued = await createGiteaToken(ctx, session, { user: 'alice', name: 'deploy', scopes: ['read:issue'] })
      await ctx.bus.drain()
      const deliveries = await sql`select event_type, payload from webhook_deliveries`
      expect(deliveries).to.have.length(1)
      expect(deliveries[0]).to.deep.include({ event_type: 'gitea.token.created' })
      expect(deliveries[0]!.payload.data).to.include({ tokenId: issued.token.id, user: 'alice', name: 'deploy' })
      expectNoPartOf(issued.secret, 8, deliveries)
    })
  })
})
