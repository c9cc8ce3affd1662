import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'

// Commands run in this process (runCli/runJson), except where only a real process shows the
// behaviour (spawnCli/spawnJson): an unknown command (the hook's exit code must reach the
// process's own exit status), the first run of `serve` on a taken port and of PostgreSQL
// unreachable (the process must exit, with 8, although it had opened connections; the other
// runs of those tests check the messages in process), and a 1 MB key on stdin (a real pipe
// that the CLI stops reading early).
import { expect } from 'chai'

import { expectJsonError, expectOneLineError } from '../helpers/assert.js'
import { runCli, runJson, spawnCli, spawnJson } from '../helpers/cli.js'
import { openTestSql, truncateAll } from '../helpers/db.js'

describe('bad input: one clear line, the documented exit code, no partial write', () => {
  const sql = openTestSql()
  beforeEach(() => truncateAll(sql))
  after(() => sql.end())

  const countKeys = async () => (await sql`select count(*)::int as n from api_keys`)[0]!.n as number

  const usage: [string, string[], RegExp][] = [
    ['a malformed id', ['api-key', 'show', 'key_bad'], /not a key id/],
    ['an id with SQL in it', ['api-key', 'revoke', "key_'; drop table api_keys;--"], /not a key id/],
    ['a duration with an unknown unit', ['api-key', 'create', '--name', 'x', '--type', 'user', '--expires-in', '3x'], /--expires-in: "3x" is not a duration/],
    ['a zero lifetime', ['api-key', 'create', '--name', 'x', '--type', 'user', '--expires-in', '0d'], /--expires-in: must be longer than zero/],
    ['a lifetime over 100 years', ['api-key', 'create', '--name', 'x', '--type', 'user', '--expires-in', '999999999w'], /longer than 100 years/],
    ['a scope with spaces and capitals', ['api-key', 'create', '--name', 'x', '--type', 'user', '--scopes', 'read,Bad Scope'], /--scopes: "Bad Scope" is not a scope/],
    ['an unknown type', ['api-key', 'create', '--name', 'x', '--type', 'root'], /Expected --type=root to be one of/],
    ['an unknown flag', ['api-key', 'list', '--bogus'], /unknown flag --bogus\. See `momentry api-key list --help`/],
    ['both expiry flags', ['api-key', 'create', '--name', 'x', '--type', 'user', '--expires-in', '1d', '--expires-at', '2030-01-01'], /^Error: --expires-in 1d cannot be used with --expires-at 2030-01-01; give one of them/],
    ['a bad ISO date', ['api-key', 'create', '--name', 'x', '--type', 'user', '--expires-at', 'tomorrow'], /not an ISO-8601 date/],
    ['a metadata entry without =', ['api-key', 'create', '--name', 'x', '--type', 'user', '--meta', 'oops'], /--meta: "oops" is not key=value/],
    ['an empty name', ['api-key', 'create', '--name', '  ', '--type', 'user'], /^Error: --name must not be empty$/],
    ['a bad IP', ['api-key', 'validate', '--ip', '999.1.1.1'], /--ip: "999.1.1.1" is not an IP address/],
    ['a bad cursor', ['api-key', 'list', '--cursor', 'zzz'], /^Error: --cursor is not the nextCursor of a previous page/],
    ['a port out of range', ['serve', '--port', '99999'], /--port: Expected an integer less than or equal to 65535 but received: 99999/],
    ['a missing required flag', ['api-key', 'create', '--name', 'x'], /^Error: Missing required flag type/],
    ['a zero limit', ['api-key', 'list', '--limit', '0'], /limit/],
    ['--force with --grace', ['api-key', 'rotate', 'key_aaaaaaaaaaaaaaaa', '--force', '--grace', '1h'], /^Error: --grace 1h cannot be used with --force; give one of them/],
    ['an unknown command', ['api-keyz', 'list'], /no command "api-keyz list"/],
  ]
  for (const [what, args, message] of usage) {
    const [cli, json] = what === 'an unknown command' ? [spawnCli, spawnJson] : [runCli, runJson]
    it(`given ${what}, then exit 2 with one line`, async () => {
      expectOneLineError(await cli(args), 2, message)
      expectJsonError(await json(args), 2, 'USAGE_ERROR')
      expect(await countKeys()).to.equal(0)
    })
  }

  it('given a port that is taken or a host that is not ours, when serve starts, then exit 8 with one line saying what to do', async () => {
    const blocker = createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()))
    try {
      const port = (blocker.address() as AddressInfo).port
      expectOneLineError(await spawnCli(['serve', '--port', String(port)]), 8, /cannot listen on 127\.0\.0\.1:\d+: the port is already in use\. Stop what is using it, or pick another --port/)
      const json = await runJson(['serve', '--port', String(port)])
      expectJsonError(json, 8, 'CONFIG_ERROR')
      expectOneLineError(await runCli(['serve', '--host', '203.0.113.1', '--port', '0']), 8, /203\.0\.113\.1 is not an address of this machine/)
    } finally {
      blocker.close()
    }
  })

  it('given an unknown but well-formed id, then exit 5', async () => {
    expectOneLineError(await runCli(['api-key', 'revoke', 'key_aaaaaaaaaaaaaaaa']), 5, /no API key with id key_aaaaaaaaaaaaaaaa/)
    expectJsonError(await runJson(['api-key', 'show', 'key_aaaaaaaaaaaaaaaa']), 5, 'NOT_FOUND')
  })

  it('given a 1 MB key on stdin, then MALFORMED (exit 3) at once, without buffering it', async () => {
    const started = Date.now()
    const r = await spawnJson(['api-key', 'validate'], { input: Buffer.alloc(1024 * 1024, 'a') })
    expect([r.code, r.json]).to.deep.equal([3, { valid: false, code: 'MALFORMED' }])
    // A process that waited for the whole input (or for an EOF that never comes) would hit the
    // 30 s test timeout; 15 s leaves room for a spawn on two cores shared with the other worker
    // (one CI run took 6.2 s).
    expect(Date.now() - started).to.be.below(15_000)
  })

  it('given binary garbage on stdin, then MALFORMED (exit 3) and a readable line', async () => {
    const r = await runCli(['api-key', 'validate'], { input: randomBytes(300) })
    expect(r.code).to.equal(3)
    expect(r.stdout).to.match(/^invalid MALFORMED/)
    expect(r.stderr).to.equal('')
  })

  it('given nothing on stdin, then a usage error that says how to pass the key', async () => {
    expectOneLineError(await runCli(['api-key', 'validate']), 2, /no key on stdin.*--key-env/)
  })

  it('given --key-env naming an unset variable, then a usage error', async () => {
    expectOneLineError(await runCli(['api-key', 'validate', '--key-env', 'NOPE_NOT_SET'], { env: { NOPE_NOT_SET: undefined } }), 2, /NOPE_NOT_SET is not set/)
  })

  it('given PostgreSQL unreachable, then exit 8 naming the server without its password', async () => {
    const env = { DATABASE_URL: 'postgres://me:hunter2@127.0.0.1:1/momentry' }
    const r = await spawnCli(['api-key', 'create', '--name', 'x', '--type', 'user'], { env })
    expectOneLineError(r, 8, /cannot reach PostgreSQL at postgres:\/\/me:\*\*\*@127\.0\.0\.1:1\/momentry/)
    expect(r.stderr).not.to.include('hunter2')
    expectJsonError(await runJson(['api-key', 'list'], { env }), 8, 'CONNECTION_ERROR')
  })

  it('given a database without the momentry tables, then exit 8 telling to run db migrate', async () => {
    const url = new URL(process.env.DATABASE_URL!)
    url.pathname = '/postgres'
    expectOneLineError(await runCli(['api-key', 'list'], { env: { DATABASE_URL: url.toString() } }), 8, /db migrate/)
  })

  it('given an invalid environment variable, then exit 8 naming it', async () => {
    expectOneLineError(await runCli(['api-key', 'list'], { env: { CACHE_TTL_SECONDS: 'soon' } }), 8, /CACHE_TTL_SECONDS is invalid/)
  })

  it('given DATABASE_URL unset and a MOMENTRY_DATA_DIR that cannot hold the embedded database, then exit 8 with one line saying why', async () => {
    expectOneLineError(await runCli(['api-key', 'list'], { env: { DATABASE_URL: '', MOMENTRY_DATA_DIR: `/tmp/${'x'.repeat(120)}` } }), 8, /MOMENTRY_DATA_DIR is too long for the embedded server's socket/)
  })

  it('given SQL-ish text in names, owners and reasons, then it is stored verbatim as data', async () => {
    const evil = "x'); drop table api_keys; --"
    const r = await runJson(['api-key', 'create', '--name', evil, '--type', 'user', '--owner', evil])
    expect(r.code).to.equal(0)
    expect(r.json.key).to.include({ name: evil, owner: evil })
    expect((await runJson(['api-key', 'revoke', r.json.key.id, '--reason', evil])).json.key.revokedReason).to.equal(evil)
  })
})
