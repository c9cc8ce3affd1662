// What the database's failures become (classifyPostgresError): a server that stops or starts
// under a command is a connection error (exit 8) saying to run it again, in embedded mode
// also when its socket is gone; other missing files are not about the database.
import { expect } from 'chai'

import { classifyPostgresError, databaseLabel } from '../../src/core/db/connect.js'
import { ConnectionError, ExitCode } from '../../src/core/errors.js'

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
