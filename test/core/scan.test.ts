import { expect } from 'chai'

import { disableKey, revokeKey } from '../../src/core/api-keys/change-key-state.js'
import { createKey } from '../../src/core/api-keys/create-key.js'
import { generateRawKey } from '../../src/core/api-keys/key-format.js'
import type { Sql } from '../../src/core/db/connect.js'
import type { MomentryEvent } from '../../src/core/events.js'
import { findKeys } from '../../src/core/scan/find-keys.js'
import { scanAndRespond } from '../../src/core/scan/respond.js'
import { scanForKeys } from '../../src/core/scan/scan.js'
import { verifyKey } from '../../src/core/validation/verify-key.js'
import { auditRows, openTestSql, testContext, truncateAll } from '../helpers/db.js'
import { commitAll, git, mutate, scratchDir } from '../helpers/seed-tree.js'

describe('scan (core)', () => {
  let sql: Sql
  before(() => {
    sql = openTestSql()
  })
  beforeEach(() => truncateAll(sql))
  after(() => sql.end())

  const issue = async (name: string, type: 'service' | 'user' = 'service') => createKey(testContext(sql), { name, type })

  describe('findKeys', () => {
    it('given keys at known places (CRLF lines, two on a line, at the very end), then each is found once with its 1-based line and column', () => {
      const a = generateRawKey('service')
      const b = generateRawKey('user')
      const text = `first\r\nkey=${a}\r\n\r\n${a} ${b}\n${b}`
      const hits = findKeys(Buffer.from(text))
      expect(hits.map((h) => [h.raw, h.line, h.column])).to.deep.equal([
        [a, 2, 5],
        [a, 4, 1],
        [b, 4, 60],
        [b, 5, 1],
      ])
      expect(hits[0]!.stub).to.equal(a.slice(0, 12))
    })

    it('given a key with one character changed, a key running on into more base62 text, a cut key and a wrong type code, then none is found', () => {
      const k = generateRawKey('system')
      const text = [mutate(k), `${k}x`, k.slice(0, 50), k.replace('mtry_sys_', 'mtry_abc_'), `mtry_${'_'.repeat(60)}`].join('\n')
      expect(findKeys(Buffer.from(text))).to.deep.equal([])
    })
  })

  describe('files', () => {
    let tree: ReturnType<typeof scratchDir>
    let outside: ReturnType<typeof scratchDir>
    afterEach(() => {
      tree?.remove()
      outside?.remove()
    })

    it('given a seeded tree, then every planted key is found once at its file and line, ignored, linked, binary and huge files are skipped and counted, and statuses come from the database', async () => {
      const live = await issue('live-svc')
      const other = await issue('live-user', 'user')
      const dead = await issue('dead')
      await revokeKey(testContext(sql), { id: dead.key.id, reason: 'test' })
      const stranger = generateRawKey('service')
      tree = scratchDir('scan-tree')
      outside = scratchDir('scan-outside')
      tree.write('src/config.ts', `export const a = 1\n\nconst key = '${live.secret}'\n`)
      tree.write('deploy/.env', `DEAD=${dead.secret}\nOTHER=${stranger}\n`)
      tree.write('deploy/nested/deep/notes.md', `# notes\n\n- ${other.secret}\n`)
      tree.write('deploy/mutated.txt', `${mutate(live.secret)}\n`)
      tree.write('.gitignore', 'build/\n*.log\n')
      tree.write('build/out.js', live.secret)
      tree.write('debug.log', live.secret)
      tree.write('deploy/.gitignore', 'secret.txt\n')
      tree.write('deploy/secret.txt', live.secret)
      tree.write('image.bin', Buffer.concat([Buffer.from([0, 1, 2]), Buffer.from(live.secret)]))
      tree.write('huge.txt', `${'x'.repeat(2000)}\n${live.secret}\n`)
      outside.write('elsewhere.txt', other.secret)
      tree.link('link-out.txt', `${outside.dir}/elsewhere.txt`)
      tree.link('link-dir', outside.dir)
      tree.link('link-in.txt', `${tree.dir}/src/config.ts`)

      const { result, raw } = await scanForKeys(testContext(sql), { paths: [tree.dir], cwd: tree.dir, maxFileBytes: 1500 })
      const rows = result.items.map((f) => [f.location.path, f.location.line, f.keyId, f.status, f.live])
      expect(rows).to.deep.equal([
        ['deploy/.env', 1, dead.key.id, 'revoked', false],
        ['deploy/.env', 2, null, 'unknown', false],
        ['deploy/nested/deep/notes.md', 3, other.key.id, 'active', true],
        ['src/config.ts', 3, live.key.id, 'active', true],
      ])
      expect(result.live).to.equal(2)
      expect(result.items[3]).to.include({ name: 'live-svc', type: 'service', stub: live.secret.slice(0, 12) })
      expect(result.items[3]!.location).to.deep.equal({ source: 'file', path: 'src/config.ts', commit: null, line: 3, column: 14 })
      expect(result.scanned.skipped).to.deep.equal({ ignored: 3, symlink: 3, binary: 1, too_large: 1, unreadable: 0 })
      expect(raw.map((r) => r.raw)).to.include(live.secret)
      expect(JSON.stringify(result)).to.not.include(live.secret).and.not.include(dead.secret).and.not.include(stranger)
    })

    it('given a path that does not exist, then it is a usage error naming it', async () => {
      const error = await scanForKeys(testContext(sql), { paths: ['/nonexistent/momentry-scan'], cwd: '/' }).catch((e: unknown) => e)
      expect(error).to.have.property('exitCode', 2)
      expect((error as Error).message).to.include('/nonexistent/momentry-scan').and.include('ENOENT')
    })
  })

  describe('git history', () => {
    let repo: ReturnType<typeof scratchDir>
    afterEach(() => repo?.remove())

    it('given a key committed then deleted, one only on another branch and the same blob in two commits, then --git finds the branch history once per blob at the oldest commit, and --all adds the other branch', async () => {
      const removed = await issue('removed-later')
      const branchOnly = await issue('branch-only')
      repo = scratchDir('scan-git')
      git(repo.dir, 'init', '-q')
      repo.write('README.md', '# project\n')
      commitAll(repo.dir, 'start')
      repo.write('app/settings.py', `DEBUG = True\nAPI_KEY = "${removed.secret}"\n`)
      const added = commitAll(repo.dir, 'add settings')
      repo.write('copy/settings.py', `DEBUG = True\nAPI_KEY = "${removed.secret}"\n`)
      commitAll(repo.dir, 'same blob elsewhere')
      repo.write('app/settings.py', 'DEBUG = True\nAPI_KEY = os.environ["API_KEY"]\n')
      repo.write('copy/settings.py', 'gone\n')
      commitAll(repo.dir, 'read it from the environment')
      git(repo.dir, 'checkout', '-q', '-b', 'experiment')
      repo.write('exp.txt', `\n\n\n${branchOnly.secret}\n`)
      const branchCommit = commitAll(repo.dir, 'experiment')
      git(repo.dir, 'checkout', '-q', 'main')

      const head = await scanForKeys(testContext(sql), { git: { repo: repo.dir }, cwd: repo.dir })
      expect(head.result.items.map((f) => [f.location.source, f.location.commit, f.location.path, f.location.line, f.keyId])).to.deep.equal([
        ['git', added, 'app/settings.py', 2, removed.key.id],
      ])
      const all = await scanForKeys(testContext(sql), { git: { repo: repo.dir, allRefs: true }, cwd: repo.dir })
      expect(all.result.items.map((f) => [f.location.commit, f.location.path, f.location.line, f.keyId])).to.deep.members([
        [added, 'app/settings.py', 2, removed.key.id],
        [branchCommit, 'exp.txt', 4, branchOnly.key.id],
      ])
    })

    it('given a directory that is not a repository, then it is a usage error', async () => {
      repo = scratchDir('scan-nogit')
      const error = await scanForKeys(testContext(sql), { git: { repo: repo.dir }, cwd: repo.dir }).catch((e: unknown) => e)
      expect(error).to.have.property('exitCode', 2)
    })
  })

  describe('responding', () => {
    let tree: ReturnType<typeof scratchDir>
    afterEach(() => tree?.remove())

    it('given a live key found twice, a disabled, a revoked and an unknown one, when revoking, then the live and the disabled keys are revoked once each with the place as reason, audited, and key.leaked says so', async () => {
      const live = await issue('leaky')
      const dead = await issue('dead')
      const off = await issue('switched-off')
      await revokeKey(testContext(sql), { id: dead.key.id })
      await disableKey(testContext(sql), { id: off.key.id })
      tree = scratchDir('scan-revoke')
      tree.write('a.txt', `${live.secret}\n`)
      tree.write('b.txt', `\n${live.secret}\n${dead.secret}\n${generateRawKey('user')}\n${off.secret}\n`)
      const ctx = testContext(sql)
      const events: MomentryEvent[] = []
      ctx.bus.on('key.leaked', (e) => void events.push(e))
      const report = await scanAndRespond(ctx, { paths: ['.'], cwd: tree.dir }, { response: 'revoke' })
      await ctx.bus.drain()
      expect(report.items.map((f) => [f.location.path, f.location.line, f.action])).to.deep.equal([
        ['a.txt', 1, 'revoked'],
        ['b.txt', 2, 'revoked'],
        ['b.txt', 3, 'already_revoked'],
        ['b.txt', 4, 'unknown'],
        ['b.txt', 5, 'revoked'],
      ])
      expect(report.live).to.equal(2)
      expect(await verifyKey(testContext(sql), { key: off.secret })).to.include({ valid: false, code: 'REVOKED' })
      const verdict = await verifyKey(testContext(sql), { key: live.secret })
      expect(verdict).to.include({ valid: false, code: 'REVOKED' })
      const audits = await auditRows(sql, { action: 'key.revoke', keyId: live.key.id })
      expect(audits).to.have.length(1)
      expect(audits[0]!.details).to.deep.equal({ reason: 'leaked: found in a.txt:1' })
      expect(events.map((e) => (e as { keyId: string }).keyId)).to.deep.equal([live.key.id, off.key.id])
      expect(events[0]).to.include({ type: 'key.leaked', keyId: live.key.id, name: 'leaky', where: 'a.txt:1', response: 'revoked', newKeyId: null })
    })

    it('given a live key in stdin, when rotating, then it is revoked at once and replaced, the new secret is returned once and the findings never hold a secret', async () => {
      const live = await issue('rotate-me')
      const { Readable } = await import('node:stream')
      const ctx = testContext(sql)
      const report = await scanAndRespond(ctx, { stdin: true, cwd: '/' }, { response: 'rotate', stdin: Readable.from([Buffer.from(`log line\nAuthorization: Bearer ${live.secret}\n`)]) })
      expect(report.items).to.have.length(1)
      expect(report.items[0]).to.include({ action: 'rotated', keyId: live.key.id })
      expect(report.items[0]!.location).to.deep.equal({ source: 'stdin', path: null, commit: null, line: 2, column: 23 })
      expect(report.rotated).to.have.length(1)
      const [r] = report.rotated
      expect(r!.previous.status).to.equal('revoked')
      expect((await verifyKey(testContext(sql), { key: r!.secret })).valid).to.equal(true)
      expect((await verifyKey(testContext(sql), { key: live.secret })).valid).to.equal(false)
      expect(JSON.stringify(report.items)).to.not.include(live.secret).and.not.include(r!.secret)
    })
  })
})
