import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'

import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'

import { createKey } from '../../src/core/api-keys/create-key.js'
import type { CoreContext } from '../../src/core/context.js'
import type { Sql } from '../../src/core/db/connect.js'
import { buildApp } from '../../src/http/app.js'
import { verifyRoute } from '../../src/http/routes.js'
import { openTestSql, redisTestContext, truncateAll } from '../helpers/db.js'
import { sendOverSocket as send } from './socket-request.js'

describe('serve’s verify fast path (a real listening server, not inject)', () => {
  const LIMIT = 1024
  let sql: Sql
  let ctx: CoreContext
  let closeCtx: () => Promise<void>
  let app: FastifyInstance
  let port: number
  const json = { 'content-type': 'application/json' }

  before(() => {
    sql = openTestSql()
  })
  after(() => sql.end())
  beforeEach(async () => {
    await truncateAll(sql)
    const core = redisTestContext(sql)
    ;({ ctx, close: closeCtx } = core)
    await core.start()
    app = buildApp(ctx, { fastVerify: true, bodyLimit: LIMIT })
    await app.listen({ host: '127.0.0.1', port: 0 })
    port = (app.server.address() as AddressInfo).port
  })
  afterEach(async () => {
    await app.close()
    await closeCtx()
  })

  it('given a valid key, when verified twice over a socket, then both answers are valid and the second is the same text as the first (memoised answer)', async () => {
    const issued = await createKey(ctx, { name: 'fast', type: 'service' })
    const body = JSON.stringify({ key: issued.secret, ip: '192.0.2.10' })
    const first = await send(port, { headers: json, chunks: [body] })
    const second = await send(port, { headers: json, chunks: [body] })
    expect(first.status).to.equal(200)
    expect(JSON.parse(first.body)).to.deep.include({ valid: true })
    expect(second.body).to.equal(first.body)
    expect(second.headers['content-type']).to.equal('application/json; charset=utf-8')
  })

  it('given a body that is not JSON or does not match the schema, then 400 in the {error: {code, message}} shape, as fastify answers', async () => {
    for (const chunks of [['{"key": '], [JSON.stringify({ key: 'x', extra: 1 })], [JSON.stringify({ ip: '192.0.2.1' })]]) {
      const res = await send(port, { headers: json, chunks })
      expect(res.status, res.body).to.equal(400)
      const parsed = JSON.parse(res.body)
      expect(parsed).to.have.all.keys('error')
      expect(parsed.error).to.have.all.keys('code', 'message')
      const viaFastify = await app.inject({ method: 'POST', url: '/v1/keys/verify', headers: json, payload: chunks.join('') })
      expect(viaFastify.statusCode).to.equal(400)
      expect(viaFastify.json().error.code).to.equal(parsed.error.code)
    }
  })

  it('given a body over the limit, announced by its length or sent chunked, then 413 at once, and the connection still answers', async () => {
    const big = JSON.stringify({ key: 'x'.repeat(LIMIT * 4) })
    const announced = await send(port, { headers: { ...json, 'content-length': String(Buffer.byteLength(big)) }, chunks: [big] })
    expect(announced.status).to.equal(413)
    expect(JSON.parse(announced.body).error.code).to.equal('PAYLOAD_TOO_LARGE')
    const pieces = Array.from({ length: 8 }, (_, i) => big.slice((i * big.length) / 8, ((i + 1) * big.length) / 8))
    const chunked = await send(port, { headers: json, chunks: pieces })
    expect(chunked.status).to.equal(413)
    expect(JSON.parse(chunked.body).error.message).to.match(new RegExp(`larger than ${LIMIT} bytes`))
    expect((await send(port, { method: 'GET', path: '/healthz' })).status).to.equal(200)
  })

  it('given a verify request that is not JSON (text/plain), then fastify answers it with 415; other routes are fastify’s too', async () => {
    const res = await send(port, { headers: { 'content-type': 'text/plain' }, chunks: ['hello'] })
    expect(res.status).to.equal(415)
    expect(JSON.parse(res.body).error).to.have.all.keys('code', 'message')
    expect((await send(port, { method: 'GET', path: '/nope' })).status).to.equal(404)
  })

  it('given the verify route spec moved to another path, when an app is built, then the fast path takes the new path and neither answers the old one', async () => {
    const issued = await createKey(ctx, { name: 'moved', type: 'service' })
    const original = verifyRoute.path
    verifyRoute.path = '/v1/keys/check'
    let moved: FastifyInstance | undefined
    try {
      moved = buildApp(ctx, { fastVerify: true })
      let reachedFastify = 0
      moved.addHook('onRequest', async () => {
        reachedFastify++
      })
      await moved.listen({ host: '127.0.0.1', port: 0 })
      const movedPort = (moved.server.address() as AddressInfo).port
      const body = JSON.stringify({ key: issued.secret })
      const answered = await send(movedPort, { path: '/v1/keys/check', headers: json, chunks: [body] })
      expect(answered.status).to.equal(200)
      expect(JSON.parse(answered.body)).to.deep.include({ valid: true })
      expect(reachedFastify, 'requests that reached fastify').to.equal(0)
      expect((await send(movedPort, { path: original, headers: json, chunks: [body] })).status).to.equal(404)
      expect(reachedFastify).to.equal(1)
    } finally {
      verifyRoute.path = original
      await moved?.close()
    }
  })

  it('given bytes that are not HTTP, then 400 in the API’s {error: {code, message}} shape (not fastify’s) and the connection closed', async () => {
    const [head, body] = (await rawExchange(port, 'NOT HTTP AT ALL\r\n\r\n')).split('\r\n\r\n')
    expect(head).to.match(/^HTTP\/1\.1 400 Bad Request\r\n/)
    expect(head).to.match(/\r\ncontent-type: application\/json; charset=utf-8\r\n/i)
    expect(JSON.parse(body!)).to.deep.equal({ error: { code: 'BAD_REQUEST', message: 'the request is not valid HTTP' } })
  })
})

/** Write `bytes` on a fresh connection and read everything until the server closes it. */
function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(bytes))
    let text = ''
    socket.setEncoding('utf8')
    socket.on('data', (d) => (text += d))
    socket.on('end', () => resolve(text))
    socket.on('error', reject)
  })
}
