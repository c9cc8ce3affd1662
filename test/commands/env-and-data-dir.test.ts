// A malformed connection URL and a data directory others may write to: the process's own exit
// code and stderr (spawned, as a user runs it), and the directory's mode afterwards.
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { expect } from 'chai'

import { secureDataDir } from '../../src/core/data-dir.js'
import { ConfigError } from '../../src/core/errors.js'
import { expectJsonError, expectOneLineError } from '../helpers/assert.js'
import { spawnCli, spawnJson } from '../helpers/cli.js'
import { openTestSql, truncateAll } from '../helpers/db.js'

const modeOf = (dir: string) => statSync(dir).mode & 0o7777
const isRoot = process.getuid?.() === 0

async function rejectionOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p
  } catch (error) {
    return error as Error
  }
  expect.fail('expected a rejection')
}

describe('environment and data directory hardening', function () {
  this.timeout(60_000)
  const sql = openTestSql()
  let base: string
  // A key made here is audited under an audit key of its own data directory: not left for other files.
  after(async () => {
    await truncateAll(sql)
    await sql.end()
  })
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'momentry-hard-'))
  })
  afterEach(() => rmSync(base, { recursive: true, force: true }))

  describe('a connection URL whose "%" is no percent-encoding', () => {
    for (const [name, value] of [
      ['DATABASE_URL', 'postgres://%zz'],
      ['DATABASE_URL', 'postgres://app:hunter%zz2secret@127.0.0.1:5432/momentry'],
      ['REDIS_URL', 'redis://:hunter%zz2secret@127.0.0.1:6379'],
    ] as const) {
      it(`given ${name}=${value.replace('hunter%zz2secret', '…')}, when a command runs, then exit 8 with one line naming ${name} and how to encode it, never the password`, async () => {
        const env = { [name]: value }
        const text = await spawnCli(['api-key', 'list'], { env })
        expectOneLineError(text, 8, new RegExp(`^Error: ${name} is invalid: a "%" in it is not followed by two hex digits: percent-encode the user, password and database name \\(% as %25, @ as %40\\)\\. Fix or unset ${name}`))
        expect(text.stderr).not.to.include('hunter')
        const json = await spawnJson(['api-key', 'list'], { env })
        expectJsonError(json, 8, 'CONFIG_ERROR')
        expect(json.stdout + json.stderr).not.to.include('hunter')
      })
    }
  })

  describe('MOMENTRY_DATA_DIR writable by others', () => {
    // File-store mode without MOMENTRY_AUDIT_KEY: `api-key create` reads and writes the audit
    // key in <data dir>/secrets/, `auth status` reads <data dir>/credentials.json.
    const fileStore = (dir: string) => ({ MOMENTRY_DATA_DIR: dir, MOMENTRY_CREDENTIAL_STORE: 'file', MOMENTRY_AUDIT_KEY: undefined })

    it('given a data directory of this user with mode 0777, when a command uses it, then it is tightened to 0700, said once on stderr, and the command succeeds', async () => {
      const dir = join(base, 'data')
      mkdirSync(dir)
      chmodSync(dir, 0o777)
      const r = await spawnCli(['auth', 'status'], { env: fileStore(dir) })
      expect(r.code, r.stderr).to.equal(0)
      expect(modeOf(dir)).to.equal(0o700)
      expect(r.stderr.match(/tightened/g), r.stderr).to.have.length(1)
      expect(r.stderr).to.include(`MOMENTRY_DATA_DIR ${dir} was writable by others (mode 0777): tightened it to 0700`)
      chmodSync(dir, 0o770)
      const created = await spawnJson(['api-key', 'create', '--name', 'dd', '--type', 'user'], { env: fileStore(dir) })
      expect(created.code, created.stderr).to.equal(0)
      expect(modeOf(dir)).to.equal(0o700)
      expect(created.stderr).to.include('was writable by its group (mode 0770)')
    })

    it('given a data directory with mode 0777 owned by another user, when a command uses it, then exit 8 with one line saying what to do, and the mode is left', async function () {
      if (!isRoot) this.skip() // only root can give a directory to another user
      const dir = join(base, 'theirs')
      mkdirSync(dir)
      chmodSync(dir, 0o777)
      chownSync(dir, 65534, 65534)
      const r = await spawnCli(['auth', 'status'], { env: fileStore(dir) })
      expectOneLineError(r, 8, new RegExp(`^Error: MOMENTRY_DATA_DIR ${dir} is writable by others \\(mode 0777\\) and belongs to uid 65534, not this user, so momentry will not tighten it\\. Run \`chmod 700 ${dir}\` as its owner, or point MOMENTRY_DATA_DIR at a directory this user owns$`))
      expectJsonError(await spawnJson(['api-key', 'create', '--name', 'dd', '--type', 'user'], { env: fileStore(dir) }), 8, 'CONFIG_ERROR')
      expect(modeOf(dir)).to.equal(0o777)
    })

    it('given a shared directory (mode 1777, as /tmp) as the data directory, when a command uses it, then exit 8 and it is not tightened', async () => {
      const dir = join(base, 'shared')
      mkdirSync(dir)
      chmodSync(dir, 0o1777)
      expectOneLineError(await spawnCli(['auth', 'status'], { env: fileStore(dir) }), 8, /is a shared directory \(mode 1777, sticky\): anyone may put files in it\. Point MOMENTRY_DATA_DIR at a directory of its own/)
      expect(modeOf(dir)).to.equal(0o1777)
    })
  })

  describe('secureDataDir', () => {
    it('given modes that others cannot write (0700, 0750, 0755, 0711), then they are left as they are', async () => {
      for (const mode of [0o700, 0o750, 0o755, 0o711]) {
        const dir = join(base, mode.toString(8))
        mkdirSync(dir)
        chmodSync(dir, mode)
        await secureDataDir(dir, { create: false })
        expect(modeOf(dir), mode.toString(8)).to.equal(mode)
      }
    })

    it('given group- or other-writable modes of this user, then each becomes 0700', async () => {
      for (const mode of [0o777, 0o775, 0o770, 0o702, 0o720]) {
        const dir = join(base, mode.toString(8))
        mkdirSync(dir)
        chmodSync(dir, mode)
        await secureDataDir(dir, { create: false })
        expect(modeOf(dir), mode.toString(8)).to.equal(0o700)
      }
    })

    it('given a missing directory, then it is made 0700 with create and left missing without', async () => {
      await secureDataDir(join(base, 'a'), { create: false })
      expect(() => statSync(join(base, 'a'))).to.throw()
      await secureDataDir(join(base, 'b', 'c'), { create: true })
      expect(modeOf(join(base, 'b', 'c'))).to.equal(0o700)
    })

    it('given a file where the directory should be, then a ConfigError (exit 8)', async () => {
      writeFileSync(join(base, 'f'), '')
      const error = await rejectionOf(secureDataDir(join(base, 'f'), { create: false }))
      expect(error).to.be.instanceOf(ConfigError)
      expect((error as ConfigError).reason).to.match(/is not a directory$/)
    })
  })
})
