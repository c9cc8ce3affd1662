import { expect } from 'chai'

import { classifyPostgresError } from '../../src/core/db/connect.js'
import { ConfigError, ConflictError, ConnectionError, ExitCode, ExternalServiceError, MomentryError, NotFoundError, UsageError } from '../../src/core/errors.js'
import type { Logger } from '../../src/core/log.js'
import { HttpError, errorResponse, toHttpError } from '../../src/http/errors.js'

const recording = () => {
  const errors: string[] = []
  const log: Logger = { debug() {}, info() {}, warn() {}, error: (m) => void errors.push(m) }
  return { log, errors }
}
const asHttp = (error: Error) => toHttpError(error, { log: recording().log, bodyLimit: 1024 })

describe('HTTP errors (status from the error class, one writer of the body)', () => {
  it('given each momentry error class, then its HTTP status is the one its class gives, whatever its exit code', () => {
    const cases: [MomentryError, number][] = [
      [new UsageError('bad'), 400],
      [new NotFoundError('gone'), 404],
      [new ConflictError('taken'), 409],
      [new ExternalServiceError('Gitea said no'), 502],
      [new ConfigError('not set'), 503],
      [new ConnectionError('unreachable'), 503],
      [new MomentryError('unexpected', { code: 'UNEXPECTED', exitCode: ExitCode.UNEXPECTED }), 500],
      // The exit code is the CLI's business: a class may say what it means over HTTP on its own.
      [new MomentryError('locked', { code: 'LOCKED', exitCode: ExitCode.CONFLICT, httpStatus: 423 }), 423],
    ]
    for (const [error, status] of cases) {
      expect(error.httpStatus, error.code).to.equal(status)
      expect(asHttp(error), error.code).to.include({ status, code: error.code })
    }
  })

  it('given a momentry error with a hint naming a CLI command, then the HTTP message is its reason alone', () => {
    const e = asHttp(new NotFoundError('no API key with id key_AAAAAAAAAAAAAAAA', 'Run `momentry api-key list` to see key ids'))
    expect(e.message).to.equal('no API key with id key_AAAAAAAAAAAAAAAA')
  })

  it('given a PostgreSQL connection failure, then 503 CONNECTION_ERROR with a public message and what to do; the reason goes to the log only', () => {
    const { log, errors } = recording()
    const e = toHttpError(Object.assign(new Error('connect ECONNREFUSED 10.1.2.3:5432'), { code: 'ECONNREFUSED' }), { log, bodyLimit: 1024 })
    expect(e).to.include({ status: 503, code: 'CONNECTION_ERROR', message: 'momentry cannot serve this right now (a service it depends on is unavailable); try again shortly' })
    expect(e.headers).to.deep.equal({ 'retry-after': '2' })
    expect(asHttp(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).to.include({ status: 503, code: 'CONNECTION_ERROR' })
    expect(asHttp(new ConflictError('taken')).headers).to.deep.equal({})
    expect(errors).to.deep.equal([`CONNECTION_ERROR in a request: ${classifyPostgresError({ code: 'ECONNREFUSED' })!.reason}`])
  })

  it('given a server-side momentry error whose reason names internals, then the HTTP message is public, with neither the reason nor the hint', () => {
    const cases: [MomentryError, string][] = [
      [new ConnectionError('cannot reach the embedded PostgreSQL at /home/alice/.local/share/momentry/pg (ENOENT)', 'Run `momentry db status`'), 'try again shortly'],
      [new ConfigError('the database is missing momentry tables or columns (migrations not applied)', 'Run `momentry db migrate`'), 'try again shortly'],
      [new ExternalServiceError('Gitea at https://git.internal:3000 answered 500: stack trace…', { hint: 'Run `momentry doctor`' }), 'try again later'],
      [new MomentryError('the audit chain of db01 is broken', { code: 'AUDIT_BROKEN', exitCode: ExitCode.UNEXPECTED }), 'see the server log'],
    ]
    for (const [error, advice] of cases) {
      const { log, errors } = recording()
      const e = toHttpError(error, { log, bodyLimit: 1024 })
      expect(e.status, error.code).to.equal(error.httpStatus)
      expect(e.message, error.code).to.include(advice)
      expect(e.message, error.code).not.to.include(error.reason)
      expect(e.message, error.code).not.to.match(/momentry (db|doctor)|\/home|internal|db01/)
      expect(errors, error.code).to.deep.equal([`${error.code} in a request: ${error.reason}`])
    }
  })

  it('given a momentry error about the request (4xx), then its reason is the message: it says what the client got wrong', () => {
    expect(asHttp(new UsageError('"x" is not a key id', 'Run `momentry api-key list`'))).to.include({ status: 400, message: '"x" is not a key id' })
    expect(asHttp(new ConflictError('another momentry operation holds this record', 'Try again in a moment'))).to.include({ status: 409, message: 'another momentry operation holds this record' })
  })

  it('given an error nobody expected, then 500 INTERNAL without its text, and the text goes to the log', () => {
    const { log, errors } = recording()
    const e = toHttpError(new Error('secret internals'), { log, bodyLimit: 1024 })
    expect(e).to.include({ status: 500, code: 'INTERNAL' })
    expect(e.message).not.to.include('secret internals')
    expect(errors).to.deep.equal(['unexpected error in a request: secret internals'])
  })

  it('given an HTTP error with headers, then errorResponse writes them with the JSON type, the exact length and the {error: {code, message}} body', () => {
    const r = errorResponse(new HttpError(429, 'RATE_LIMITED', 'too many — wait', { 'retry-after': '7' }))
    expect(r.status).to.equal(429)
    expect(r.headers).to.deep.equal({ 'retry-after': '7', 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(r.body)) })
    expect(JSON.parse(r.body)).to.deep.equal({ error: { code: 'RATE_LIMITED', message: 'too many — wait' } })
  })
})
