import { execFile } from 'node:child_process'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'

import { expect } from 'chai'

import { generateRawKey } from '../../src/core/api-keys/key-format.js'
import { KEY_TYPES } from '../../src/core/api-keys/key-types.js'
import { expectOneLineError } from '../helpers/assert.js'
import { runJson, spawnCli } from '../helpers/cli.js'
import { openTestSql, truncateAll } from '../helpers/db.js'
import { commitAll, git, mutate, scratchDir } from '../helpers/seed-tree.js'

/** `git commit` as a user runs it: a real process, the hook spawned by git, its exit and its words. */
function commit(dir: string, args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; stderr: string; stdout: string }> {
  const merged: Record<string, string | undefined> = { ...process.env, ...env, GIT_AUTHOR_DATE: '2031-01-01T00:00:00Z', GIT_COMMITTER_DATE: '2031-01-01T00:00:00Z' }
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete merged[k]
  return new Promise((resolve) => {
    execFile('git', ['-C', dir, '-c', 'user.email=test@example.com', '-c', 'user.name=test', '-c', 'commit.gpgsign=false', 'commit', '-q', ...args], { env: merged as NodeJS.ProcessEnv }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    )
  })
}

const headOf = (dir: string) => {
  try {
    return git(dir, 'rev-parse', '--verify', '--quiet', 'HEAD')
  } catch {
    return null
  }
}

describe('momentry scan: the pre-commit hook, --staged and --gitleaks-config', function () {
  this.timeout(60_000)
  const sql = openTestSql()
  let repo: ReturnType<typeof scratchDir>
  beforeEach(async () => {
    await truncateAll(sql)
    repo = scratchDir('scan-hook')
    git(repo.dir, 'init', '-q')
  })
  afterEach(() => repo.remove())
  after(() => sql.end())

  const issue = async (name: string) => {
    const r = await runJson(['api-key', 'create', '--name', name, '--type', 'service'])
    expect(r.code, r.stderr).to.equal(0)
    return { secret: r.json.secret as string, id: r.json.key.id as string }
  }
  const install = async (dir = repo.dir) => {
    const r = await spawnCli(['scan', '--install-hook', '--repo', dir])
    expect(r.code, r.stderr).to.equal(0)
    return r
  }

  describe('the hook', () => {
    it('given the hook, when a commit adds a live key, then git refuses it with one line naming file:line and the stub (never the key) and how to bypass; a commit without a key goes through', async () => {
      const live = await issue('deploy')
      await install()
      repo.write('README.md', '# app\n')
      repo.write('config/app.env', `NAME=app\nAPI_KEY=${live.secret}\n`)
      git(repo.dir, 'add', '-A')
      const refused = await commit(repo.dir, ['-m', 'config'])
      expect(refused.code, refused.stderr).to.not.equal(0)
      expect(headOf(repo.dir), 'no commit was made').to.equal(null)
      const lines = refused.stderr.trim().split('\n')
      expect(lines, refused.stderr).to.have.length(1)
      expect(lines[0]).to.equal(
        `momentry: commit refused: config/app.env:2 adds the live key ${live.secret.slice(0, 12)}… (${live.id} "deploy", active). Take it out of the staged changes (and revoke it if it left this machine), or commit anyway, knowingly: git commit --no-verify`,
      )
      expect(refused.stderr + refused.stdout).to.not.include(live.secret)

      repo.write('config/app.env', 'NAME=app\nAPI_KEY=${API_KEY}\n')
      git(repo.dir, 'add', '-A')
      const allowed = await commit(repo.dir, ['-m', 'config from the environment'])
      expect(allowed.code, allowed.stderr).to.equal(0)
      expect(allowed.stderr).to.equal('')
      expect(headOf(repo.dir)).to.be.a('string')
    })

    it('given revoked, unknown and mutated keys, then the commit goes through (a note names the first two); a key HEAD already holds is not "added" by editing another line', async () => {
      const dead = await issue('old')
      expect((await runJson(['api-key', 'revoke', dead.id])).code).to.equal(0)
      const stranger = generateRawKey('user')
      const live = await issue('kept')
      await install()
      repo.write('a.txt', `old=${dead.secret}\nstranger=${stranger}\ntypo=${mutate(live.secret)}\n`)
      git(repo.dir, 'add', '-A')
      const r = await commit(repo.dir, ['-m', 'dead keys'])
      expect(r.code, r.stderr).to.equal(0)
      expect(r.stderr.trim().split('\n')).to.deep.equal([
        `momentry: a.txt:1 adds the revoked key ${dead.secret.slice(0, 12)}… (${dead.id} "old", revoked): allowed`,
        `momentry: a.txt:2 adds ${stranger.slice(0, 12)}…, no key of this database: allowed`,
      ])
      for (const s of [dead.secret, stranger, mutate(live.secret)]) expect(r.stderr).to.not.include(s)

      // Committed past the hook knowingly; later edits to the file do not add it again.
      repo.write('b.env', `KEY=${live.secret}\n`)
      git(repo.dir, 'add', '-A')
      expect((await commit(repo.dir, ['--no-verify', '-m', 'knowingly'])).code).to.equal(0)
      repo.write('b.env', `# a comment\nKEY=${live.secret}\n`)
      git(repo.dir, 'add', '-A')
      const edit = await commit(repo.dir, ['-m', 'comment'])
      expect(edit.code, edit.stderr).to.equal(0)
      // …but copying it into another file does.
      repo.write('c.env', `KEY=${live.secret}\n`)
      git(repo.dir, 'add', '-A')
      const copy = await commit(repo.dir, ['-m', 'copy'])
      expect(copy.code).to.not.equal(0)
      expect(copy.stderr).to.include('c.env:1 adds the live key').and.not.include('b.env')
    })

    it('given `git commit -a` (git hands the hook a temporary index), then a key added to a tracked file is refused all the same', async () => {
      const live = await issue('tracked')
      repo.write('settings.ini', 'a=1\n')
      commitAll(repo.dir, 'settings')
      await install()
      repo.write('settings.ini', `a=1\nkey=${live.secret}\n`)
      const r = await commit(repo.dir, ['-a', '-m', 'key'])
      expect(r.code).to.not.equal(0)
      expect(r.stderr).to.include(`settings.ini:2 adds the live key ${live.secret.slice(0, 12)}…`)
    })

    it('given the database cannot be reached (a server that refuses, an embedded data directory never made), then a checksum-valid key is refused with the reason, even a revoked one, and no database is created', async () => {
      const dead = await issue('dead')
      expect((await runJson(['api-key', 'revoke', dead.id])).code).to.equal(0)
      await install()
      repo.write('a.txt', `k=${dead.secret}\n`)
      git(repo.dir, 'add', '-A')
      const down = await commit(repo.dir, ['-m', 'x'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/nothing' })
      expect(down.code).to.not.equal(0)
      expect(down.stderr.trim()).to.equal(
        `momentry: commit refused: a.txt:1 adds the momentry key ${dead.secret.slice(0, 12)}…, and cannot reach PostgreSQL at postgres://nobody@127.0.0.1:1/nothing (ECONNREFUSED), so it may be live. Take it out of the staged changes, or commit anyway, knowingly: git commit --no-verify`,
      )
      const dataDir = path.join(repo.dir, 'no-such-data-dir')
      const embedded = await commit(repo.dir, ['-m', 'x'], { DATABASE_URL: undefined, MOMENTRY_DATA_DIR: dataDir })
      expect(embedded.code).to.not.equal(0)
      expect(embedded.stderr).to.include(`there is no momentry database in ${dataDir}`)
      expect(existsSync(dataDir), 'the hook created a data directory').to.equal(false)
      expect(embedded.stderr).to.not.include(dead.secret)
    })

    it('given a commit without any key, then the hook never asks the database (an unreachable one does not slow or stop it)', async () => {
      await install()
      repo.write('a.txt', 'mtry_ but no key\n')
      git(repo.dir, 'add', '-A')
      const t0 = Date.now()
      const r = await commit(repo.dir, ['-m', 'x'], { DATABASE_URL: 'postgres://nobody@192.0.2.1:5432/blackhole' })
      expect(r.code, r.stderr).to.equal(0)
      expect(Date.now() - t0, 'a connection attempt to an unroutable address would take seconds').to.be.below(4000)
    })
  })

  describe('--install-hook', () => {
    it('given a fresh repository, then the hook is an executable sh script running this node and momentry; a second run changes nothing; a changed own hook is rewritten', async () => {
      const first = await install()
      const file = path.join(repo.dir, '.git', 'hooks', 'pre-commit')
      expect(first.stderr).to.include(`Installed the momentry pre-commit hook ${file}`)
      const script = readFileSync(file, 'utf8')
      expect(script.split('\n').slice(0, 2)).to.deep.equal(['#!/bin/sh', '# momentry pre-commit hook'])
      expect(script).to.include(`node='${process.execPath}'`).and.include(`momentry='${path.resolve('bin/run.js')}'`).and.include('exec "$node" "$momentry" scan --staged')
      expect(statSync(file).mode & 0o111).to.equal(0o111)
      const again = await install()
      expect(again.stderr).to.include('Already up to date:')
      expect(readFileSync(file, 'utf8')).to.equal(script)
      writeFileSync(file, script.replace(/^node=.*$/m, "node='/old/node'"))
      expect((await install()).stderr).to.include('Updated the momentry pre-commit hook')
      expect(readFileSync(file, 'utf8')).to.equal(script)
      const json = await runJson(['scan', '--install-hook', '--repo', repo.dir])
      expect(json.json).to.deep.equal({ path: file, outcome: 'unchanged', inWorkTree: false })
    })

    it("given a pre-commit hook that is not momentry's, then it is left alone: exit 6, one line saying how to chain both", async () => {
      const file = repo.write('.git/hooks/pre-commit', '#!/bin/sh\nnpm run lint\n')
      const r = await spawnCli(['scan', '--install-hook', '--repo', repo.dir])
      expectOneLineError(r, 6, /already exists and is not momentry's hook; it was left as it is\. To run both, add this line near the top of it: '.+' '.+bin\/run\.js' scan --staged \|\| exit \$\?$/)
      expect(readFileSync(file, 'utf8')).to.equal('#!/bin/sh\nnpm run lint\n')
    })

    it('given core.hooksPath (relative, from a subdirectory), then the hook goes where git looks for it, and it works there', async () => {
      git(repo.dir, 'config', 'core.hooksPath', '.githooks')
      repo.write('src/x.ts', '')
      const r = await spawnCli(['scan', '--install-hook'], { cwd: path.join(repo.dir, 'src') })
      expect(r.code, r.stderr).to.equal(0)
      expect(r.stderr).to.include(path.join(repo.dir, '.githooks', 'pre-commit')).and.include('do not commit it')
      expect(existsSync(path.join(repo.dir, '.git', 'hooks', 'pre-commit'))).to.equal(false)
      const live = await issue('hooks-path')
      repo.write('src/x.ts', `export const key = '${live.secret}'\n`)
      git(repo.dir, 'add', 'src')
      const refused = await commit(repo.dir, ['-m', 'x'])
      expect(refused.code).to.not.equal(0)
      expect(refused.stderr).to.include('src/x.ts:1 adds the live key')
    })

    it('given a directory that is no git work tree, then one line and exit 2', async () => {
      const plain = scratchDir('scan-hook-plain')
      try {
        expectOneLineError(await spawnCli(['scan', '--install-hook', '--repo', plain.dir]), 2, /is not the work tree of a git repository/)
      } finally {
        plain.remove()
      }
    })
  })

  describe('--staged', () => {
    it('given staged keys, then --json is the typed result, without a secret, and the exit status is 3 when one blocks', async () => {
      const live = await issue('staged')
      repo.write('x.txt', `${live.secret}\n`)
      git(repo.dir, 'add', '-A')
      const r = await spawnCli(['scan', '--staged', '--json'], { cwd: repo.dir })
      expect(r.code, r.stderr).to.equal(3)
      expect(r.json).to.deep.include({ lookup: 'database', offlineReason: null, blocked: 1 })
      expect(r.json.items).to.deep.equal([{ path: 'x.txt', line: 1, column: 1, stub: live.secret.slice(0, 12), type: 'service', keyId: live.id, name: 'staged', status: 'active', blocks: true }])
      expect(r.stdout + r.stderr).to.not.include(live.secret)
    })

    for (const [args, pattern] of [
      [['--staged', '--revoke'], /--revoke|--staged/],
      [['--staged', 'somewhere'], /--staged takes no PATH/],
      [['--gitleaks-config', '--install-hook'], /--install-hook|--gitleaks-config/],
      [['--repo', '.'], /--repo goes with --install-hook or --staged/],
      [['--staged', '--format', 'sarif'], /--format goes with a scan, not --staged/],
    ] as const) {
      it(`given bad usage (${args.join(' ')}), then one line and exit 2`, async () => {
        expectOneLineError(await spawnCli(['scan', ...args], { cwd: repo.dir }), 2, pattern)
      })
    }
  })

  describe('--gitleaks-config', () => {
    it('given no database at all, then it prints a gitleaks rule and exits 0 without opening one', async () => {
      const dataDir = path.join(repo.dir, 'no-data-dir')
      for (const env of [{ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/nothing' }, { DATABASE_URL: undefined, MOMENTRY_DATA_DIR: dataDir }]) {
        const r = await spawnCli(['scan', '--gitleaks-config'], { env })
        expect(r.code, r.stderr).to.equal(0)
        expect(r.stderr).to.equal('')
        expect(r.stdout).to.include('[[rules]]\nid = "momentry-api-key"').and.include('keywords = ["mtry_"]').and.include('secretGroup = 1').and.include('[extend]\nuseDefault = true')
        expect(r.stdout).to.match(/^description = ".+"$/m)
      }
      expect(existsSync(dataDir)).to.equal(false)
    })

    it('given the printed regex as a JavaScript RegExp, then it matches keys of every type exactly (the key in group 1), and neither a longer token nor a wrong type code', async () => {
      const r = await spawnCli(['scan', '--gitleaks-config'])
      const source = /^regex = '''(.+)'''$/m.exec(r.stdout)![1]!
      const re = new RegExp(source)
      for (const type of KEY_TYPES) {
        for (let i = 0; i < 20; i++) {
          const key = generateRawKey(type)
          for (const text of [key, `KEY=${key}`, `"apiKey": "${key}",`, `x-api-key: ${key}\n`, `API_KEY_${key}`]) expect(re.exec(text)?.[1], text).to.equal(key)
          for (const text of [`${key}x`, `${key}0`, `a${key}`, key.slice(0, -1), key.replace(/^mtry_[a-z]{3}_/, 'mtry_abc_')]) expect(re.test(text), text).to.equal(false)
        }
      }
    })
  })
})
