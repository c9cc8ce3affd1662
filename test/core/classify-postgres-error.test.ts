// What the database's failures become (classifyPostgresError): a server that stops or starts
// under a command is a connection error (exit 8) saying to run it again, in embedded mode
// also when its socket is gone; other missing files are not about the database.
import { expect } from 'chai'

import { classifyPostgresError, databaseLabel } from '../../src/core/db/connect.js'
import { ConnectionError, ExitCode, UsageError } from '../../src/core/errors.js'

describe('classifyPostgresError', () => {
  const embedded = databaseLabel({ dataDir: '/tmp/mtry-x' })
  const socket = '/tmp/mtry-x/pg/.s.PGSQL.5432'

  it('given the embedded server stopping or gone under a command (57P01/57P02/57P03, no socket, refused, closed), then a connection error (exit 8) saying to run again or db start', () => {
    for (const error of [{ code: '57P01' }, { code: '57P02' }, { code: '57P03' }, { code: 'ENOENT', address: socket }, { code: 'ECONNREFUSED', address: socket }, { code: 'CONNECTION_CLOSED' }]) {
      const e = classifyPostgresError(error, embedded)
      expect(e, error.code).to.be.instanceOf(ConnectionError)
      expect(e!.exitCode).to.equal(ExitCode.CONFIG)
      expect(e!.line).to.equal(`the embedded PostgreSQL in /tmp/mtry-x stopped while this command was using it (${error.code}). Run the command again (it starts the server), or \`momentry db start\` first`)
    }
  })

  it('given a server of DATABASE_URL shutting down, then a connection error saying to run again once it is up', () => {
    const e = classifyPostgresError({ code: '57P01' }, 'postgres://db.example/momentry')
    expect(e).to.be.instanceOf(ConnectionError)
    expect(e!.line).to.match(/^PostgreSQL at postgres:\/\/db\.example\/momentry is shutting down or starting up \(57P01\)\. Run the command again once it is up/)
  })

  it('given the connection lost under a request (reset, broken pipe, class 08), then a connection error (503 over HTTP)', () => {
    for (const code of ['ECONNRESET', 'EPIPE', 'ECONNABORTED', '08000', '08003', '08006', '08001', '08P01', 'CONNECTION_CLOSED', '57P01', 'ECONNREFUSED']) {
      const e = classifyPostgresError({ code }, 'postgres://db.example/momentry')
      expect(e, code).to.be.instanceOf(ConnectionError)
      expect(e!.httpStatus, code).to.equal(503)
      expect(e!.line, code).to.include(`(${code})`)
    }
  })

  it('given a date PostgreSQL cannot hold (22007, 22008), then a usage error (400, exit 2), not an unexpected one', () => {
    for (const code of ['22007', '22008']) {
      const e = classifyPostgresError({ code, message: 'date/time field value out of range: "0000-01-01T00:00:00.000Z"' })
      expect(e, code).to.be.instanceOf(UsageError)
      expect(e!.httpStatus).to.equal(400)
      expect(e!.exitCode).to.equal(ExitCode.USAGE)
      }
    })

  it('given a session reset under a request (a fast shutdown: read ECONNRESET, or EPIPE on write), then a connection error (HTTP 503), not an unexpected one (500)', () => {
    for (const code of ['ECONNRESET', 'EPIPE']) {
      const error = Object.assign(new Error(`read ${code}`), { code, errno: -104, syscall: 'read' })
      const e = classifyPostgresError(error, 'postgres://db.example/momentry')
      expect(e, code).to.be.instanceOf(ConnectionError)
      expect(e!.httpStatus).to.equal(503)
      expect(e!.line).to.match(new RegExp(`^cannot reach PostgreSQL at postgres://db\\.example/momentry \\(${code}\\)`))
      expect(classifyPostgresError(error, embedded), code).to.be.instanceOf(ConnectionError)
    }
  })

  it('given a missing file that is not the socket, then it is not a database error', () => {
    expect(classifyPostgresError({ code: 'ENOENT', address: '/tmp/other' }, embedded)).to.equal(undefined)
    expect(classifyPostgresError({ code: 'ENOENT' }, embedded)).to.equal(undefined)
  })
})
