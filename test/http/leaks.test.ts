import { Validator } from '@seriousme/openapi-schema-validator'
import { expect } from 'chai'

import { disableKey, revokeKey } from '../../src/core/api-keys/change-key-state.js'
import { createKey } from '../../src/core/api-keys/create-key.js'
import { generateRawKey } from '../../src/core/api-keys/key-format.js'
import type { Sql } from '../../src/core/db/connect.js'
import type { MomentryEvent } from '../../src/core/events.js'
import { reportedWhere } from '../../src/core/scan/report-leaks.js'
import { verifyKey } from '../../src/core/validation/verify-key.js'
import { buildOpenApi } from '../../src/http/openapi.js'
import { routes } from '../../src/http/routes.js'
import { runCli } from '../helpers/cli.js'
import { auditRows, openTestSql, testContext, truncateAll } from '../helpers/db.js'
import { mutate } from '../helpers/seed-tree.js'
import type { InProcessServe } from '../helpers/serve.js'
import { serveInProcess } from '../helpers/serve.js'

describe('POST /v1/leaks (serve)', function () {
  this.timeout(30_000)
  let sql: Sql
  let s: InProcessServe
  before(async () => {
    sql = openTestSql()
    s = await serveInProcess({ RATE_LIMIT_MAX_ATTEMPTS: '1000000' })
  })
  after(async () => {
    await s.stop()
    await sql.end()
  })
  beforeEach(async () => {
    await truncateAll(sql)
    // Other files of the run fail validations from 127.0.0.1 too: start each test with it not locked out.
    await runCli(['lockout', 'clear', '--all'])
  })

  const issue = async (name: string, scopes: string[] = []) => createKey(testContext(sql), { name, type: 'service', scopes })
  const report = async (body: unknown, bearer?: string) => {
    const res = await fetch(`${s.url}/v1/leaks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    })
    const text = await res.text()
    return { status: res.status, text, json: JSON.parse(text) }
  }

  it('given tokens of every kind, then each is answered in order, every known key not yet revoked is revoked once (audited as the reporter, key.leaked emitted), and no token comes back', async () => {
    const admin = await issue('admin', ['admin'])
    const live = await issue('in-a-paste')
    const other = await issue('other')
    const dead = await issue('old')
    await revokeKey(testContext(sql), { id: dead.key.id, reason: 'rotated out' })
    const off = await issue('switched-off')
    await disableKey(testContext(sql), { id: off.key.id })
    const stranger = generateRawKey('user')
    const leaked: MomentryEvent[] = []
    const stop = s.ctx.bus.on('key.leaked', (e) => void leaked.push(e))
    const tokens = [live.secret, 'ghp_notoursatall', stranger, dead.secret, live.secret, mutate(other.secret), off.secret]
    let r
    try {
      r = await report(
        {
          leaks: [
            { token: tokens[0], url: 'https://paste.example/abc', source: 'gitleaks' },
            { token: tokens[1] },
            { token: tokens[2], source: 'trufflehog' },
            { token: tokens[3] },
            { token: tokens[4], url: 'https://elsewhere.example/' },
            { token: tokens[5] },
            { token: tokens[6], url: `https://logs.example/?key=${off.secret}` },
          ],
        },
        admin.secret,
      )
      await s.ctx.bus.drain()
    } finally {
      stop()
    }
    expect(r.status, r.text).to.equal(200)
    expect(r.json.items).to.deep.equal([
      { index: 0, outcome: 'revoked', keyId: live.key.id, stub: live.secret.slice(0, 12) },
      { index: 1, outcome: 'not_momentry' },
      { index: 2, outcome: 'unknown', stub: stranger.slice(0, 12) },
      { index: 3, outcome: 'already_revoked', keyId: dead.key.id, stub: dead.secret.slice(0, 12) },
      { index: 4, outcome: 'revoked', keyId: live.key.id, stub: live.secret.slice(0, 12) },
      { index: 5, outcome: 'not_momentry' },
      { index: 6, outcome: 'revoked', keyId: off.key.id, stub: off.secret.slice(0, 12) },
    ])
    for (const t of tokens) expect(r.text).to.not.include(t)
    expect(await verifyKey(testContext(sql), { key: live.secret, ip: '203.0.113.77' })).to.deep.include({ valid: false, code: 'REVOKED' })
    // Read from the table: other files of the run may lock 127.0.0.1 out meanwhile, which a verify through serve would answer.
    const [untouched] = await sql`select revoked_at, enabled from api_keys where key_id = ${other.key.id}`
    expect(untouched, 'a mutated token must not touch the key').to.deep.equal({ revoked_at: null, enabled: true })

    const audits = await auditRows(sql, { action: 'key.revoke' })
    const mine = audits.filter((a) => a.keyId !== dead.key.id)
    expect(mine.map((a) => [a.keyId, a.actor, a.details])).to.deep.equal([
      [live.key.id, `api:${admin.key.id}`, { reason: 'leaked: found in https://paste.example/abc (reported by gitleaks)' }],
      [off.key.id, `api:${admin.key.id}`, { reason: `leaked: found in https://logs.example/?key=${off.secret.slice(0, 12)}…` }],
    ])
    expect(leaked.map((e) => e.type === 'key.leaked' && [e.keyId, e.response])).to.deep.equal([
      [live.key.id, 'revoked'],
      [off.key.id, 'revoked'],
    ])
    const everything = JSON.stringify(audits) + JSON.stringify(leaked) + s.stderr()
    for (const t of [live.secret, stranger, off.secret, mutate(other.secret)]) expect(everything, 'a token in the audit, an event or the log').to.not.include(t)
  })

  it('given a key with only the leaks:report scope, then it may report; without that scope or admin it is refused 403, without a key 401, and nothing is revoked', async () => {
    const reporter = await issue('scanner', ['leaks:report'])
    const plain = await issue('reader', ['keys:read'])
    const target = await issue('target')
    const body = { leaks: [{ token: target.secret }] }

    const none = await report(body)
    expect(none.status).to.equal(401)
    expect(none.json.error.code).to.equal('UNAUTHORIZED')
    const bad = await report(body, mutate(reporter.secret))
    expect(bad.status).to.equal(401)
    const forbidden = await report(body, plain.secret)
    expect(forbidden.status).to.equal(403)
    expect(forbidden.json.error).to.deep.equal({ code: 'FORBIDDEN', message: 'the key is valid but lacks the admin or leaks:report scope' })
    for (const r of [none, bad, forbidden]) expect(r.text).to.not.include(target.secret)
    expect((await s.post('/v1/keys/verify', { key: target.secret })).json.valid).to.equal(true)

    const ok = await report(body, reporter.secret)
    expect(ok.status, ok.text).to.equal(200)
    expect(ok.json.items).to.deep.equal([{ index: 0, outcome: 'revoked', keyId: target.key.id, stub: target.secret.slice(0, 12) }])
    expect((await auditRows(sql, { action: 'key.revoke', keyId: target.key.id }))[0]!.actor).to.equal(`api:${reporter.key.id}`)
    // The narrower scope opens this route only.
    const res = await fetch(`${s.url}/v1/admin/api-keys`, { headers: { authorization: `Bearer ${reporter.secret}` } })
    expect(res.status).to.equal(403)
  })

  it('given hostile bodies, then each is a 400 (413, 415) in the {error:{code,message}} shape that never repeats a token, and nothing is revoked', async () => {
    const admin = await issue('admin', ['admin'])
    const target = await issue('target')
    const t = target.secret
    const many = Array.from({ length: 1001 }, () => ({ token: t }))
    const cases: [unknown, number, RegExp][] = [
      [{}, 400, /"leaks" is required/],
      [{ leaks: [] }, 400, /"leaks" must have at least 1 entry/],
      [{ leaks: t }, 400, /"leaks" must be an array/],
      [{ leaks: many }, 400, /"leaks" must have at most 1000 entries/],
      [{ leaks: [{ token: t, extra: 1 }] }, 400, /"leaks\[0\]\.extra" is not a known field/],
      [{ leaks: [{ token: `${t}${'x'.repeat(600)}` }] }, 400, /"leaks\[0\]\.token" must be at most 512 characters/],
      [{ leaks: [{ token: t, url: 'u'.repeat(3000) }] }, 400, /"leaks\[0\]\.url" must be at most 2048 characters/],
      [{ leaks: [{ token: 42 }] }, 400, /"leaks\[0\]\.token" must be a string/],
      [{ leaks: [{ token: '' }] }, 400, /must not be empty/],
      [{ leaks: [null] }, 400, /"leaks\[0\]" must be an object/],
      [`{"leaks":[{"token":"${t}"}`, 400, /not valid JSON/],
      [JSON.stringify({ leaks: Array.from({ length: 1000 }, () => ({ token: t, url: 'u'.repeat(2000) })) }), 413, /larger than 1048576 bytes/],
    ]
    for (const [body, status, message] of cases) {
      const r = await report(body, admin.secret)
      expect(r.status, `${String(body).slice(0, 60)}: ${r.text}`).to.equal(status)
      expect(Object.keys(r.json)).to.deep.equal(['error'])
      expect(Object.keys(r.json.error).sort()).to.deep.equal(['code', 'message'])
      expect(r.json.error.message).to.match(message)
      expect(r.text).to.not.include(t)
    }
    const text = await fetch(`${s.url}/v1/leaks`, { method: 'POST', headers: { 'content-type': 'text/plain', authorization: `Bearer ${admin.secret}` }, body: t })
    expect(text.status).to.equal(415)
    expect(await text.text()).to.not.include(t)
    expect(s.stderr()).to.not.include(t)
    expect((await s.post('/v1/keys/verify', { key: t })).json.valid).to.equal(true)
  })

  it('given a reporter that names a place holding a key, then the place keeps only its stub (it becomes the revocation reason and the event)', () => {
    const k = generateRawKey('service')
    expect(reportedWhere({ url: `https://x.example/?a=${k}&b=${k}` })).to.equal(`https://x.example/?a=${k.slice(0, 12)}…&b=${k.slice(0, 12)}…`)
    expect(reportedWhere({})).to.equal('reported via POST /v1/leaks')
    expect(reportedWhere({ source: 'gitleaks' })).to.equal('gitleaks')
  })

  it('given the OpenAPI document, then POST /v1/leaks is in it with its body, answer, bearer security and scopes, and the document is valid', async () => {
    const doc = buildOpenApi(routes, '1.0.0') as any
    const op = doc.paths['/v1/leaks'].post
    expect(op.security).to.deep.equal([{ adminKey: [] }])
    expect(op.description).to.include('`leaks:report`')
    expect(op.requestBody.content['application/json'].schema.$ref).to.equal('#/components/schemas/LeakReport')
    expect(op.responses['200'].content['application/json'].schema.$ref).to.equal('#/components/schemas/LeakReportResult')
    expect(doc.components.schemas.ReportedLeak.properties.outcome.enum).to.deep.equal(['revoked', 'already_revoked', 'unknown', 'not_momentry'])
    expect(Object.keys(op.responses).sort()).to.deep.equal(['200', '400', '401', '403', '413', '415', '429', '503'])
    const res = await new Validator().validate(doc)
    expect(res.valid, JSON.stringify(res.errors)).to.equal(true)
  })
})
