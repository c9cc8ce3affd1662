import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { expect } from 'chai'
import postgres from 'postgres'

import { createKey } from '../../src/core/api-keys/create-key.js'
import { hashKeyBase64 } from '../../src/core/api-keys/key-format.js'
import { addToBlacklist } from '../../src/core/blacklist/blacklist.js'
import type { Sql } from '../../src/core/db/connect.js'
import { connectPostgres } from '../../src/core/db/connect.js'
import { EXPORT_TABLES, exportDatabase, importDatabase } from '../../src/core/db/export-import.js'
import { migrate } from '../../src/core/db/migrate.js'
import { UsageError } from '../../src/core/errors.js'
import { mirrorValidationState } from '../../src/core/validation/mirrors.js'
import { verifyKey, verifyKeyInMemory } from '../../src/core/validation/verify-key.js'
import { addWebhook } from '../../src/core/webhooks/webhooks.js'
import { expectOneLineError } from '../helpers/assert.js'
import type { CliResult } from '../helpers/cli.js'
import { runCli, runJson } from '../helpers/cli.js'
import type { TestCore } from '../helpers/db.js'
import { openTestSql, testCore, testDatabaseUrl, truncateAll } from '../helpers/db.js'

const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

const until = async (what: string, ok: () => boolean | Promise<boolean>, ms = 3000) => {
  const end = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const rejectionOf = async (p: Promise<unknown>): Promise<Error> => {
  try {
    await p
  } catch (error) {
    return error as Error
  }
  throw new Error('expected a rejection')
}

/** The file with its trailer summed again over `body` (everything before the trailer). */
const resum = (body: string) => `${body}\\sha256 ${createHash('sha256').update(body).digest('hex')}\n`
/** A version 2 export's text without its trailer line. */
const bodyOf = (text: string) => text.slice(0, text.lastIndexOf('\\sha256 '))

/** The exporter as a real process under a file size limit (RLIMIT_FSIZE: writes past it fail with EFBIG). */
function exportLimited(file: string, bytes: number): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('prlimit', [`--fsize=${bytes}`, process.execPath, BIN, 'db', 'export', file, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => {
      let json: any
      try {
        json = JSON.parse(stdout)
      } catch {}
      resolve({ code: code ?? -1, stdout, stderr, json })
    })
  })
}

describe('db export / db import (real PostgreSQL, a second database as the target)', function () {
  this.timeout(30_000)
  const sql = openTestSql()
  const targetUrl = new URL(testDatabaseUrl())
  targetUrl.pathname = `${targetUrl.pathname}_import_${randomBytes(3).toString('hex')}`
  const target = { DATABASE_URL: targetUrl.toString() }
  let targetSql: Sql
  let dir: string
  let source: TestCore
  let into: TestCore
  let secrets: { active: string; other: string }

  const targetCounts = async () => {
    const counts: Record<string, number> = {}
    for (const t of EXPORT_TABLES) counts[t] = ((await targetSql`select count(*)::int as n from ${targetSql(t)}`)[0] as { n: number }).n
    return counts
  }
  const emptyTarget = () => truncateAll(targetSql)
  // Every migrated database has its one-row instance and chain head; empty means those at their start.
  const expectTargetEmpty = async () => {
    const { momentry_instance: instance, audit_chain_head: head, ...rest } = await targetCounts()
    expect({ instance, head, rest: Object.values(rest).every((n) => n === 0) }, JSON.stringify(rest)).to.deep.equal({ instance: 1, head: 1, rest: true })
    expect((await targetSql`select seq::int from audit_chain_head`)[0]!.seq).to.equal(0)
  }

  before(async () => {
    const admin = postgres(testDatabaseUrl(), { max: 1, onnotice: () => {} })
    await admin`create database ${admin(targetUrl.pathname.slice(1))}`
    await admin.end()
    targetSql = connectPostgres(targetUrl.toString())
    await migrate(targetSql)
    dir = await mkdtemp(join(tmpdir(), 'momentry-export-'))
  })
  beforeEach(async () => {
    await rm(dir, { recursive: true, force: true })
    await mkdir(dir)
    await truncateAll(sql)
    await emptyTarget()
    source = testCore(sql)
    into = testCore(targetSql, { env: target })
    secrets = {
      active: (await createKey(source.ctx, { name: 'active', type: 'service', scopes: ['read'] })).secret,
      other: (await createKey(source.ctx, { name: 'other', type: 'user' })).secret,
    }
    await addToBlacklist(source.ctx, { target: '203.0.113.0/24' })
    await addWebhook(source.ctx, { url: 'http://127.0.0.1:9/hook', events: ['key.revoked'] })
  })
  afterEach(async () => {
    await source.close()
    await into.close()
  })
  after(async () => {
    await targetSql.end()
    const admin = postgres(testDatabaseUrl(), { max: 1, onnotice: () => {} })
    await admin`drop database if exists ${admin(targetUrl.pathname.slice(1))} with (force)`
    await admin.end()
    await sql.end()
    await rm(dir, { recursive: true, force: true })
  })

  describe('the format', () => {
    it('given data, when exported, then a 0600 version 2 file counts every table in its header and sums itself in its trailer, with nothing left beside it', async () => {
      const file = join(dir, 'whole.export')
      const summary = await exportDatabase(source.ctx, file)
      expect((await stat(file)).mode & 0o777).to.equal(0o600)
      expect(await readdir(dir)).to.deep.equal(['whole.export'])
      const text = await readFile(file, 'utf8')
      expect(summary.bytes).to.equal(Buffer.byteLength(text))
      const [magic, header] = text.split('\n')
      expect(magic).to.equal('momentry-export 2')
      expect(JSON.parse(header!).tables).to.deep.equal(summary.rows)
      expect(summary.rows).to.include({ api_keys: 2, ip_blacklist: 1, webhooks: 1 })
      expect(resum(bodyOf(text))).to.equal(text)
      for (const secret of Object.values(secrets)) expect(text).not.to.include(secret)
    })

    it('given an export, when imported into an empty database, then every row arrives, the keys validate, and ids continue after the imported ones', async () => {
      const file = join(dir, 'whole.export')
      await sql`insert into validation_failure_minute (minute, code, ip, key_id, count) values ('2031-03-01T10:00:00Z', 'NOT_FOUND', '198.51.100.4', '', 3), ('2031-03-01T10:00:00Z', 'MALFORMED', '', '', 1)`
      const exported = await exportDatabase(source.ctx, file)
      expect(exported.rows.validation_failure_minute).to.equal(2)
      const imported = await importDatabase(into.ctx, file)
      expect(imported).to.deep.equal({ file, rows: exported.rows, replaced: false })
      expect(await targetCounts()).to.deep.equal(exported.rows)
      expect((await targetSql`select code, ip, count from validation_failure_minute order by code`).map((r) => [r.code, r.ip, r.count])).to.deep.equal([
        ['MALFORMED', '', 1],
        ['NOT_FOUND', '198.51.100.4', 3],
      ])
      expect(await verifyKey(into.ctx, { key: secrets.active })).to.include({ valid: true })
      expect(await verifyKey(into.ctx, { key: secrets.active, ip: '203.0.113.7' })).to.deep.equal({ valid: false, code: 'BLACKLISTED' })
      await createKey(into.ctx, { name: 'after', type: 'service' })
    })

    it('given a file cut at any table boundary, inside a row, or just before its trailer, when imported, then it is refused with one reason and nothing is written', async () => {
      const file = join(dir, 'whole.export')
      await exportDatabase(source.ctx, file)
      const text = await readFile(file, 'utf8')
      const cuts: number[] = []
      for (let at = text.indexOf('\\.\n'); at !== -1; at = text.indexOf('\\.\n', at + 1)) cuts.push(at + 3)
      expect(cuts).to.have.length(EXPORT_TABLES.length)
      cuts.push(text.indexOf('\n', text.indexOf('\\table api_keys')) + 10) // inside the first key's row
      const cut = join(dir, 'cut.export')
      for (const at of cuts) {
        await writeFile(cut, text.slice(0, at))
        const error = await rejectionOf(importDatabase(into.ctx, cut))
        expect(error, `cut at ${at}: ${error.message}`).to.be.instanceOf(UsageError)
        expect(error.message).to.match(/is not a whole momentry export \((it ends before its checksum line|it ends inside api_keys|it ends in the middle of a line)\); nothing was imported/)
        await expectTargetEmpty()
      }
      // The refusals left the pool usable: the whole file loads after them.
      expect((await importDatabase(into.ctx, file)).rows.api_keys).to.equal(2)
    })

    it('given a changed byte, or a changed count summed again, when imported, then the checksum, or the count, refuses it and nothing is written', async () => {
      const file = join(dir, 'whole.export')
      await exportDatabase(source.ctx, file)
      const text = await readFile(file, 'utf8')
      const changed = join(dir, 'changed.export')
      await writeFile(changed, text.replace('http://127.0.0.1:9/hook', 'http://127.0.0.1:8/hook'))
      expect((await rejectionOf(importDatabase(into.ctx, changed))).message).to.match(/its checksum does not match its contents/)
      await expectTargetEmpty()
      // The header says 3 keys, the table line and the rows say 2.
      await writeFile(changed, resum(bodyOf(text).replace('"api_keys":2', '"api_keys":3')))
      expect((await rejectionOf(importDatabase(into.ctx, changed))).message).to.match(/api_keys has 2 rows where its header says 3/)
      // The table line and the header say 3, the rows are 2.
      await writeFile(changed, resum(bodyOf(text).replace('"api_keys":2', '"api_keys":3').replace('\\table api_keys 2 ', '\\table api_keys 3 ')))
      expect((await rejectionOf(importDatabase(into.ctx, changed))).message).to.match(/api_keys has 2 rows where its header says 3/)
      // A table the header counts is left out altogether.
      const noWebhooks = bodyOf(text).replace(/\\table webhooks [^\n]*\n[\s\S]*?\\\.\n/, '')
      await writeFile(changed, resum(noWebhooks))
      expect((await rejectionOf(importDatabase(into.ctx, changed))).message).to.match(/it lacks webhooks/)
      await expectTargetEmpty()
    })

    it('given a version 1 file (no counts in its header, no trailer), then it still imports whole, and one cut at a table boundary is refused', async () => {
      const file = join(dir, 'whole.export')
      const exported = await exportDatabase(source.ctx, file)
      const lines = bodyOf(await readFile(file, 'utf8')).split('\n')
      const { tables: _, ...header } = JSON.parse(lines[1]!)
      const v1 = ['momentry-export 1', JSON.stringify(header), ...lines.slice(2)].join('\n')
      const old = join(dir, 'v1.export')
      await writeFile(old, v1)
      expect((await importDatabase(into.ctx, old)).rows).to.deep.equal(exported.rows)
      await emptyTarget()
      await writeFile(old, v1.slice(0, v1.indexOf('\\table webhooks ')))
      expect((await rejectionOf(importDatabase(into.ctx, old))).message).to.match(/it lacks webhooks, webhook_deliveries, gitea_tokens, n8n_api_keys/)
      await expectTargetEmpty()
      await writeFile(old, v1.replace('momentry-export 1', 'momentry-export 3'))
      expect((await rejectionOf(importDatabase(into.ctx, old))).message).to.match(/it is momentry-export 3, which this momentry cannot read/)
    })
  })

  describe('bad input and failures: one line, the documented exit code, nothing written', () => {
    const exportFile = async () => {
      const file = join(dir, 'whole.export')
      expect((await runJson(['db', 'export', file])).code).to.equal(0)
      return { file, text: await readFile(file, 'utf8') }
    }

    it('given a header that is not JSON, a value a column refuses, or a repeated row, when imported, then exit 2 names the place but never the value', async () => {
      const { text } = await exportFile()
      const bad = join(dir, 'bad.export')
      const lines = text.split('\n')
      await writeFile(bad, [lines[0], '{"migrations": [', ...lines.slice(2)].join('\n'))
      expectOneLineError(await runCli(['db', 'import', bad], { env: target }), 2, /its header is not the JSON an export starts with/)

      // A timestamp no timestamptz accepts (22007), in the first webhook's created_at.
      const tableLine = text.indexOf('\\table webhooks ')
      const hook = text.indexOf('\n', tableLine) + 1
      const columns = JSON.parse(text.slice(text.indexOf('[', tableLine), hook - 1)) as string[]
      const end = text.indexOf('\n', hook)
      const row = text.slice(hook, end).split('\t')
      row[columns.indexOf('created_at')] = 'not-a-date-whsec_looks_secret'
      await writeFile(bad, resum(bodyOf(text.slice(0, hook) + row.join('\t') + text.slice(end))))
      const refused = await runCli(['db', 'import', bad], { env: target })
      expectOneLineError(refused, 2, /a value this database refuses \(webhooks row 1, column created_at\), PostgreSQL error 22007/)
      expect(refused.stderr).not.to.include('whsec_looks_secret')

      // The first key twice (23505).
      const keyRow = text.indexOf('\n', text.indexOf('\\table api_keys ')) + 1
      const keyLine = text.slice(keyRow, text.indexOf('\n', keyRow) + 1)
      const twice = text.slice(0, keyRow) + keyLine + text.slice(keyRow)
      await writeFile(bad, resum(bodyOf(twice).replace('"api_keys":2', '"api_keys":3').replace('\\table api_keys 2 ', '\\table api_keys 3 ')))
      const dup = await runJson(['db', 'import', bad], { env: target })
      expect(dup.code, dup.stdout).to.equal(2)
      expect(dup.json.error.message).to.match(/holds a row this database already has \(api_keys row 2\); nothing was imported\. Import into an empty database, or add --replace/)
      await expectTargetEmpty()
    })

    it('given an unreadable, missing or directory path, when imported, then exit 2 says which', async function () {
      expectOneLineError(await runCli(['db', 'import', join(dir, 'missing.export')], { env: target }), 2, /cannot read .*missing\.export: no such file or directory \(ENOENT\)/)
      expectOneLineError(await runCli(['db', 'import', dir], { env: target }), 2, /is not a file/)
      if (process.getuid?.() === 0) return // root reads a 0000 file all the same
      const { file } = await exportFile()
      await chmod(file, 0)
      expectOneLineError(await runCli(['db', 'import', file], { env: target }), 2, /permission denied \(EACCES\)/)
    })

    it('given a directory that does not exist, when exported, then exit 2 and no file', async () => {
      expectOneLineError(await runCli(['db', 'export', join(dir, 'nowhere', 'x.export')]), 2, /cannot write .*x\.export: no such file or directory \(ENOENT\); nothing was written/)
      expect(await readdir(dir)).to.deep.equal([])
    })

    it('given a disk that fills up part way through a table, when exported, then exit 2 says so, the old file stays as it was, and no partial file is left', async () => {
      // Enough usage rows that the file passes the limit inside key_usage_minute's COPY.
      const keyId = ((await sql`select key_id from api_keys limit 1`)[0] as { key_id: string }).key_id
      await sql`insert into key_usage_minute (key_id, minute, ok_count) select ${keyId}, now() - make_interval(mins => g), g from generate_series(1, 20000) g`
      const file = join(dir, 'full.export')
      await writeFile(file, 'the previous export\n')
      const r = await exportLimited(file, 300_000)
      expect(r.code, r.stdout + r.stderr).to.equal(2)
      expect(r.json.error.message).to.match(/cannot write .*full\.export: larger than this process may write \(EFBIG\); nothing was written/)
      expect(r.stderr).not.to.match(/\n\s+at /)
      expect(await readFile(file, 'utf8')).to.equal('the previous export\n')
      expect(await readdir(dir)).to.deep.equal(['full.export'])
      // Without the limit the same export goes through.
      expect((await runJson(['db', 'export', file])).json.rows.key_usage_minute).to.equal(20000)
    })

    it('given a server nobody listens on, when exported or imported, then exit 8', async () => {
      const { file } = await exportFile()
      const nobody = { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/momentry' }
      expectOneLineError(await runCli(['db', 'import', file], { env: nobody }), 8, /cannot reach PostgreSQL/)
      expectOneLineError(await runCli(['db', 'export', join(dir, 'x.export')], { env: nobody }), 8, /cannot reach PostgreSQL/)
      expect(await readdir(dir)).to.deep.equal(['whole.export'])
    })
  })

  describe('LISTENing processes', () => {
    it('given a process caching a key of the target, when `import --replace` empties and reloads it, then that process drops the key at once', async () => {
      const file = join(dir, 'whole.export')
      await exportDatabase(source.ctx, file)
      const { secret: gone } = await createKey(into.ctx, { name: 'only-in-target', type: 'service' })
      await addToBlacklist(into.ctx, { target: '198.51.100.0/24' })
      const off = await mirrorValidationState(into.ctx)
      try {
        expect(await verifyKey(into.ctx, { key: gone, ip: '192.0.2.1' })).to.include({ valid: true })
        expect(verifyKeyInMemory(into.ctx, { key: gone, ip: '192.0.2.1' })).to.include({ valid: true })
        expect(verifyKeyInMemory(into.ctx, { key: gone, ip: '198.51.100.1' })).to.deep.equal({ valid: false, code: 'BLACKLISTED' })
        const r = await runJson(['db', 'import', file, '--replace'], { env: target })
        expect(r.code, r.stdout).to.equal(0)
        await until('the cached key to go', () => into.ctx.validation.cache.find(hashKeyBase64(gone)) === undefined)
        expect(await verifyKey(into.ctx, { key: gone, ip: '192.0.2.1' })).to.deep.equal({ valid: false, code: 'NOT_FOUND' })
        await until('the blacklist to reload', () => verifyKeyInMemory(into.ctx, { key: secrets.active, ip: '203.0.113.1' })?.valid === false)
        expect(await verifyKey(into.ctx, { key: secrets.active, ip: '198.51.100.1' })).to.include({ valid: true })
      } finally {
        await off()
      }
    })

    it('given a process that remembered a key as unknown, when an import brings it, then the key validates there without waiting for the miss to expire', async () => {
      const file = join(dir, 'whole.export')
      await exportDatabase(source.ctx, file)
      const off = await mirrorValidationState(into.ctx)
      try {
        expect(await verifyKey(into.ctx, { key: secrets.active })).to.deep.equal({ valid: false, code: 'NOT_FOUND' })
        expect(into.ctx.validation.cache.find(hashKeyBase64(secrets.active))).to.deep.equal({ record: null })
        await importDatabase(into.ctx, file)
        await until('the remembered miss to go', () => into.ctx.validation.cache.find(hashKeyBase64(secrets.active)) === undefined)
        expect(await verifyKey(into.ctx, { key: secrets.active })).to.include({ valid: true })
      } finally {
        await off()
      }
    })

    it('given a plain TRUNCATE of api_keys, then the trigger of sql/0010 empties every LISTENing cache', async () => {
      const { secret } = await createKey(into.ctx, { name: 'k', type: 'service' })
      const off = await mirrorValidationState(into.ctx)
      try {
        await verifyKey(into.ctx, { key: secret })
        expect(into.ctx.validation.cache.find(hashKeyBase64(secret))).to.not.equal(undefined)
        await targetSql`truncate api_keys cascade`
        await until('the cache to empty', () => into.ctx.validation.cache.size === 0)
      } finally {
        await off()
      }
    })
  })
})
