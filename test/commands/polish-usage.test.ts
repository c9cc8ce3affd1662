// Issue 16, the CLI's words and exit codes: typo suggestions, messages that name the flag as
// typed, duration hints that fit the flag, the rotate usage line, `config`/`doctor` with a bad
// variable, and the SPEC §12 codes of `db status`, `report --out` and `doctor`. Unknown
// commands are spawned: the hook's exit code must reach the process's own exit status.
import { randomBytes } from 'node:crypto'

import { expect } from 'chai'
import postgres from 'postgres'

import { expectJsonError, expectOneLineError } from '../helpers/assert.js'
import { runCli, runJson, spawnCli, spawnJson } from '../helpers/cli.js'
import { openTestSql, testDatabaseUrl, truncateAll } from '../helpers/db.js'

describe('CLI polish: suggestions, messages in the user’s words, exit codes', () => {
  const sql = openTestSql()
  beforeEach(() => truncateAll(sql))
  after(() => sql.end())

  describe('typos', () => {
    for (const typed of [['api-key', 'lst'], ['api-keys', 'list']]) {
      it(`given \`momentry ${typed.join(' ')}\`, then one line suggesting \`api-key list\` and exit 2, also under --json`, async () => {
        expectOneLineError(await spawnCli(typed), 2, new RegExp(`^Error: no command "${typed.join(' ')}"\\. Did you mean \`api-key list\`\\?$`))
        const json = await spawnJson(typed)
        expectJsonError(json, 2, 'USAGE_ERROR')
        expect(json.json.error.message).to.include('Did you mean `api-key list`?')
      })
    }

    it('given a mistyped command followed by a key, then the key is not echoed', async () => {
      const r = await spawnCli(['api-key', 'valdate', 'mtry_usr_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN'])
      expectOneLineError(r, 2, /^Error: no command "api-key valdate"\. Did you mean `api-key validate`\?$/)
      expect(r.stderr).not.to.include('mtry_usr_')
    })

    it('given nothing close to any command, then the line points to --help instead of guessing', async () => {
      expectOneLineError(await spawnCli(['api-key', 'frobnicate']), 2, /no command "api-key frobnicate"\. Run `momentry --help` to list the commands$/)
    })

    it('given `--nme x` (and `--nme=x`), then one line suggesting --name, exit 2, and the value is not echoed', async () => {
      for (const args of [['api-key', 'create', '--nme', 'x', '--type', 'user'], ['api-key', 'create', '--nme=secretish', '--type', 'user']]) {
        const r = await runCli(args)
        expectOneLineError(r, 2, /^Error: unknown flag --nme\. Did you mean `--name`\?$/)
        expect(r.stderr).not.to.include('secretish')
        expectJsonError(await runJson(args), 2, 'USAGE_ERROR')
      }
    })
  })

  describe('messages name the flag as typed', () => {
    it('given --expires-at in the past, then the line names --expires-at with the date typed', async () => {
      expectOneLineError(await runCli(['api-key', 'create', '--name', 'x', '--type', 'user', '--expires-at', '2020-01-01']), 2, /^Error: --expires-at 2020-01-01 is not in the future\. Give a later date/)
    })

    it('given an unknown webhook event, then the line names --events and the value', async () => {
      expectOneLineError(await runCli(['webhook', 'add', 'https://hooks.example', '--events', 'key.revoked,key.exploded']), 2, /^Error: --events must be one of key\.created, .* \(got "key\.exploded"\)$/)
    })

    it('given a URL that is not http(s), then the line names the URL argument', async () => {
      expectOneLineError(await runCli(['webhook', 'add', 'ftp://hooks.example', '--events', 'key.revoked']), 2, /^Error: URL must be an http:\/\/ or https:\/\/ URL$/)
    })

    it('given --secret-env naming a malformed secret, then the line says where the secret came from, not its value', async () => {
      const r = await runCli(['webhook', 'add', 'https://hooks.example', '--events', 'key.revoked', '--secret-env', 'POLISH_SECRET'], { env: { POLISH_SECRET: 'hunter2' } })
      expectOneLineError(r, 2, /^Error: the secret in the --secret-env variable must look like whsec_/)
      expect(r.stderr).not.to.include('hunter2')
    })

    it('given --due with --reason, then exit 2 naming both flags as typed', async () => {
      expectOneLineError(await runCli(['api-key', 'rotate', '--due', '--reason', 'nightly']), 2, /--reason nightly cannot be used with --due|--due cannot be used with --reason nightly/)
    })
  })

  describe('duration hints fit the flag', () => {
    const cases: [string[], RegExp][] = [
      [['watch', '--interval', '0s'], /^Error: --interval: must be longer than zero\. Use e\.g\. 2s$/],
      [['watch', '--interval', 'soon'], /--interval: "soon" is not a duration\. .*e\.g\. 2s$/],
      [['api-key', 'create', '--name', 'x', '--type', 'user', '--expires-in', '0d'], /Use e\.g\. 30d$/],
      [['api-key', 'rotate', 'key_aaaaaaaaaaaaaaaa', '--grace', '3x'], /e\.g\. 12h$/],
      [['anomaly', 'list', '--since', 'yesterday'], /e\.g\. 24h$/],
    ]
    for (const [args, message] of cases) {
      it(`given \`${args.join(' ')}\`, then the hint's example fits the flag`, async () => {
        expectOneLineError(await runCli(args), 2, message)
      })
    }
  })

  it('given `api-key rotate --help`, then the usage shows the two ways to call it and no broken grouping', async () => {
    // Spawned: help run in this process leaves oclif's shared config unable to find the command again.
    const r = await spawnCli(['api-key', 'rotate', '--help'])
    expect(r.code).to.equal(0)
    const usage = r.stdout.slice(r.stdout.indexOf('USAGE'), r.stdout.indexOf('ARGUMENTS')).replace(/\s+/g, ' ')
    expect(usage).to.include('$ momentry api-key rotate ID [--force | --grace <n>s|m|h|d|w] [--reason <value>] [--json]')
    expect(usage).to.include('$ momentry api-key rotate --due [--to-keychain] [--json]')
    expect(usage).not.to.match(/\| \]|\[ \|/)
  })

  describe('config and doctor with a bad variable', () => {
    const env = { CACHE_TTL_SECONDS: 'abc' }

    it('given CACHE_TTL_SECONDS=abc, when `config --json` runs, then every variable is listed, the bad one with problem and fix, and exit 8', async () => {
      const r = await runJson(['config'], { env })
      expect(r.code).to.equal(8)
      expect(r.json.items.map((e: any) => e.name)).to.include.members(['DATABASE_URL', 'CACHE_TTL_SECONDS', 'MOMENTRY_ACTOR', 'MOMENTRY_DEBUG', 'NO_COLOR'])
      expect(r.json.items.find((e: any) => e.name === 'CACHE_TTL_SECONDS')).to.deep.equal({
        name: 'CACHE_TTL_SECONDS',
        value: 'abc',
        source: 'env',
        problem: 'expected a whole number',
        fix: 'Set CACHE_TTL_SECONDS as expected, or unset it to use the default, 300',
      })
      expect(r.json.items.filter((e: any) => e.problem)).to.have.length(1)
    })

    it('given CACHE_TTL_SECONDS=abc, when `config` runs in text, then the table marks it, a line explains it, and stderr has one line', async () => {
      const r = await runCli(['config'], { env })
      expect(r.code).to.equal(8)
      expect(r.stdout).to.match(/CACHE_TTL_SECONDS +│ abc +│ env ✗ invalid/)
      expect(r.stdout).to.include('✗ CACHE_TTL_SECONDS: expected a whole number. Set CACHE_TTL_SECONDS as expected, or unset it to use the default, 300')
      expect(r.stdout).to.match(/RATE_LIMIT_MAX_ATTEMPTS +│ 5 +│ default/)
      expectOneLineError(r, 8, /^Error: CACHE_TTL_SECONDS is invalid \(see above\)/)
    })

    it('given CACHE_TTL_SECONDS=abc, when `doctor --json` runs, then the config check fails with the fix, every variable is in the report, and exit 8', async () => {
      const r = await runJson(['doctor'], { env })
      expect(r.code).to.equal(8)
      expect(r.json.ok).to.equal(false)
      expect(r.json.checks).to.deep.equal([
        { name: 'config', status: 'fail', detail: 'CACHE_TTL_SECONDS is invalid: expected a whole number', fix: 'Set CACHE_TTL_SECONDS as expected, or unset it to use the default, 300' },
      ])
      expect(r.json.config.find((e: any) => e.name === 'CACHE_TTL_SECONDS')).to.include({ value: 'abc', problem: 'expected a whole number' })
      expect(r.json.config.find((e: any) => e.name === 'CACHE_MAX_CAPACITY')).to.include({ value: '10000', source: 'default' })
    })

    it('given CACHE_TTL_SECONDS=abc, when `doctor` runs in text, then it shows the failing check and the whole configuration', async () => {
      const r = await runCli(['doctor'], { env })
      expect(r.code).to.equal(8)
      expect(r.stdout).to.match(/^✗ config +CACHE_TTL_SECONDS is invalid: expected a whole number — Set CACHE_TTL_SECONDS/m)
      expect(r.stdout).to.match(/CACHE_MAX_CAPACITY +│ 10000 +│ default/)
      expect(r.stderr).to.equal('')
    })

    it('given a valid environment, when `doctor --json` runs, then config is an ok check and the report lists the variables', async () => {
      const r = await runJson(['doctor'])
      expect(r.json.checks[0]).to.include({ name: 'config', status: 'ok' })
      expect(r.json.config.find((e: any) => e.name === 'DATABASE_URL').source).to.equal('env')
    })
  })

  describe('exit codes (SPEC §12)', () => {
    it('given a database without the momentry schema, when `db status` runs, then it shows the pending migrations and exits 8', async () => {
      const url = new URL(testDatabaseUrl())
      const name = `${url.pathname.slice(1)}_bare_${randomBytes(3).toString('hex')}`
      url.pathname = `/${name}`
      const admin = postgres(testDatabaseUrl(), { max: 1, onnotice: () => {} })
      await admin`create database ${admin(name)}`
      try {
        const r = await runJson(['db', 'status'], { env: { DATABASE_URL: url.toString() } })
        expect(r.code, r.stdout + r.stderr).to.equal(8)
        expect(r.json.current).to.equal(false)
        expect(r.json.migrations[0]).to.include({ name: '0001_init.sql', state: 'pending' })
        const text = await runCli(['db', 'status'], { env: { DATABASE_URL: url.toString() } })
        expect([text.code, /Not current: run `momentry db migrate`/.test(text.stdout)]).to.deep.equal([8, true])
      } finally {
        await admin`drop database if exists ${admin(name)} with (force)`
        await admin.end()
      }
    })

    it('given the migrated database, when `db status` runs, then exit 0', async () => {
      expect((await runJson(['db', 'status'])).code).to.equal(0)
    })

    it('given `report usage --out` in a directory that does not exist, then exit 2 with one line naming --out', async () => {
      expectOneLineError(await runCli(['report', 'usage', '--format', 'csv', '--out', '/nonexistent/x.csv']), 2, /^Error: --out \/nonexistent\/x\.csv: cannot write there \(ENOENT\)\. Give a file in a directory that exists/)
      expectJsonError(await runJson(['report', 'usage', '--format', 'csv', '--out', '/nonexistent/x.csv']), 2, 'USAGE_ERROR')
    })

    const unreachableGitea = { GITEA_URL: 'http://127.0.0.1:1', GITEA_USERNAME: 'admin', GITEA_PASSWORD: 'admin-pw' }

    it('given only Gitea unreachable, when `doctor` runs, then that check fails and the exit code is 7 (external service)', async () => {
      const r = await runJson(['doctor'], { env: unreachableGitea })
      expect(r.code, r.stdout).to.equal(7)
      expect(r.json.checks.filter((c: any) => c.status === 'fail').map((c: any) => c.name)).to.deep.equal(['gitea'])
    })

    it('given only n8n unreachable, when `doctor` runs, then exit 7', async () => {
      const r = await runJson(['doctor'], { env: { N8N_URL: 'http://127.0.0.1:1', N8N_EMAIL: 'a@example.com', N8N_PASSWORD: 'pw' } })
      expect(r.code, r.stdout).to.equal(7)
      expect(r.json.checks.filter((c: any) => c.status === 'fail').map((c: any) => c.name)).to.deep.equal(['n8n'])
    })

    it('given Gitea and Redis unreachable, when `doctor` runs, then momentry’s own failure wins: exit 8', async () => {
      const r = await runJson(['doctor'], { env: { ...unreachableGitea, REDIS_URL: 'redis://127.0.0.1:1' } })
      expect(r.code).to.equal(8)
      expect(r.json.checks.filter((c: any) => c.status === 'fail').map((c: any) => c.name)).to.deep.equal(['redis', 'gitea'])
    })
  })
})
