// `api-key cleanup` and `api-key rotate --due --to-keychain` through the CLI, in process. The
// ages that cleanup looks at are set by moving a row's timestamps back in SQL: the CLI runs on
// the system clock.
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { expect } from 'chai'

import type { Sql } from '../../src/core/db/connect.js'
import { runCli, runJson } from '../helpers/cli.js'
import { auditRows, openTestSql, truncateAll } from '../helpers/db.js'

async function create(name: string, ...extra: string[]): Promise<{ secret: string; key: { id: string } }> {
  const r = await runJson(['api-key', 'create', '--name', name, '--type', 'service', ...extra])
  expect(r.code, r.stderr).to.equal(0)
  return r.json
}

/** Row count of every table, schema_migrations included. */
async function counts(sql: Sql): Promise<Record<string, number>> {
  const tables = await sql`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`
  const out: Record<string, number> = {}
  for (const { table_name: t } of tables) out[t] = (await sql`select count(*)::int as n from ${sql(t)}`)[0]!.n
  return out
}

describe('api-key cleanup and rotate --to-keychain through the CLI', () => {
  const sql = openTestSql()
  beforeEach(() => truncateAll(sql))
  after(() => sql.end())

  describe('cleanup', () => {
    /** A key revoked 100 days ago with an open anomaly, one revoked now, one active, 500-day-old usage. */
    async function world() {
      const old = await create('old')
      const fresh = await create('fresh')
      const active = await create('active')
      for (const k of [old, fresh]) expect((await runJson(['api-key', 'revoke', k.key.id])).code).to.equal(0)
      await sql`update api_keys set created_at = created_at - interval '101 days', revoked_at = revoked_at - interval '100 days' where key_id = ${old.key.id}`
      await sql`insert into api_key_anomalies (anomaly_id, key_id, anomaly_type, severity, observed, threshold, window_seconds, first_seen_at, last_seen_at)
        values ('anm_00000000000000a1', ${old.key.id}, 'multiple_ips', 'low', 6, 5, 3600, now() - interval '100 days', now() - interval '100 days')`
      await sql`insert into key_usage_minute (key_id, minute, ok_count, fail_count) values
        (${active.key.id}, date_trunc('minute', now()) - interval '500 days', 3, 0), (${active.key.id}, date_trunc('minute', now()), 1, 0)`
      await sql`insert into validation_failure_minute (minute, code, ip, key_id, count) values
        (date_trunc('minute', now()) - interval '500 days', 'NOT_FOUND', '192.0.2.9', '', 6), (date_trunc('minute', now()), 'NOT_FOUND', '192.0.2.9', '', 1)`
      return { old, fresh, active }
    }

    it('given --dry-run --json, then it lists what would go and no table changes', async () => {
      const { old } = await world()
      const before = await counts(sql)
      const r = await runJson(['api-key', 'cleanup', '--dry-run'])
      expect(r.code, r.stderr).to.equal(0)
      expect(r.json.dryRun).to.equal(true)
      expect(r.json.keys.map((k: { id: string }) => k.id)).to.deep.equal([old.key.id])
      expect(r.json.anomalies.map((a: { id: string }) => a.id)).to.deep.equal(['anm_00000000000000a1'])
      expect(r.json.usage).to.include({ retention: '400d', rows: 1, failureRows: 1 })
      expect(await counts(sql)).to.deep.equal(before)
    })

    it('given --json, then exactly the listed rows go, in the same shape as the dry run, and the audit log only gains the key.cleanup row', async () => {
      const { old, fresh, active } = await world()
      const dry = await runJson(['api-key', 'cleanup', '--dry-run'])
      const before = await counts(sql)
      const audit = await sql`select * from api_key_audit_log order by seq`
      const r = await runJson(['api-key', 'cleanup'])
      expect(r.code, r.stderr).to.equal(0)
      expect(Object.keys(r.json)).to.deep.equal(Object.keys(dry.json))
      expect({ ...r.json, at: null }).to.deep.equal({ ...dry.json, dryRun: false, at: null, cutoff: r.json.cutoff, usage: { ...dry.json.usage, cutoff: r.json.usage.cutoff } })
      expect(await counts(sql)).to.deep.equal({
        ...before,
        api_keys: before.api_keys! - 1,
        api_key_anomalies: before.api_key_anomalies! - 1,
        key_usage_minute: before.key_usage_minute! - 1,
        // The 500-day-old minute was its key's only one that day: its daily row goes with it.
        key_usage_day: before.key_usage_day! - 1,
        validation_failure_minute: before.validation_failure_minute! - 1,
        api_key_audit_log: before.api_key_audit_log! + 1,
      })
      const keys = (await sql`select key_id from api_keys order by id`).map((k) => k.key_id)
      expect(keys).to.deep.equal([fresh.key.id, active.key.id])
      const after = await sql`select * from api_key_audit_log order by seq`
      expect(after.slice(0, audit.length)).to.deep.equal([...audit])
      expect(after.at(-1)).to.deep.include({ key_id: null, action: 'key.cleanup' })
      expect((await auditRows(sql, { action: 'key.cleanup' })).at(-1)!.details).to.deep.include({ keyIds: [old.key.id], anomalyIds: ['anm_00000000000000a1'] })
    })

    it('given no --json, then a table names each removed key', async () => {
      const { old } = await world()
      const r = await runCli(['api-key', 'cleanup', '--older-than', '30d'])
      expect(r.code, r.stderr).to.equal(0)
      expect(r.stdout).to.include(old.key.id).and.include('Removed 1 key(s).').and.include('older than 30d')
    })

    for (const bad of ['90', '90 days', '0d', '-1d', "1d'; drop table api_keys; --"]) {
      it(`given --older-than ${JSON.stringify(bad)}, then one usage line, exit 2, and nothing changes`, async () => {
        await world()
        const before = await counts(sql)
        const r = await runCli(['api-key', 'cleanup', '--older-than', bad])
        expect(r.code).to.equal(2)
        expect(r.stderr.trim().split('\n')).to.have.length(1)
        expect(r.stderr).to.match(/^Error: .*--older-than/)
        expect(await counts(sql)).to.deep.equal(before)
        const j = await runJson(['api-key', 'cleanup', '--older-than', bad])
        expect([j.code, j.json.error.code]).to.deep.equal([2, 'USAGE_ERROR'])
      })
    }
  })

  describe('rotate --due --to-keychain', () => {
    let dataDir: string
    let env: Record<string, string>
    beforeEach(() => {
      dataDir = mkdtempSync(join(tmpdir(), 'momentry-rotate-'))
      env = { MOMENTRY_CREDENTIAL_STORE: 'file', MOMENTRY_DATA_DIR: dataDir }
    })
    afterEach(() => rmSync(dataDir, { recursive: true, force: true }))

    const makeDue = (id: string) => sql`update api_keys set created_at = created_at - interval '2 days' where key_id = ${id}`

    it('given a due key, then its new secret is stored as api-key/<name> (0600 file), stdout has no secret, and the stored secret validates', async () => {
      const k = await create('billing', '--rotate-every', '1d')
      await makeDue(k.key.id)
      const r = await runJson(['api-key', 'rotate', '--due', '--to-keychain'], { env })
      expect(r.code, r.stderr).to.equal(0)
      const file = join(dataDir, 'credentials.json')
      expect(r.json.failed).to.deep.equal([])
      expect(r.json.rotated).to.have.length(1)
      expect(r.json.rotated[0]).to.include({ name: 'billing', previousId: k.key.id, account: 'api-key/billing', store: 'file', file })
      expect(r.stdout + r.stderr).not.to.match(/mtry_/)
      expect(statSync(file).mode & 0o777).to.equal(0o600)
      const stored = JSON.parse(await readFile(file, 'utf8'))['api-key/billing'] as string
      const v = await runJson(['api-key', 'validate'], { input: `${stored}\n` })
      expect([v.code, v.json.key?.id]).to.deep.equal([0, r.json.rotated[0].id])

      const table = await runCli(['auth', 'list'], { env })
      expect(table.stdout).to.include('api-key/billing').and.not.include(stored)
      const list = await runJson(['auth', 'list'], { env })
      expect(list.json.items).to.deep.equal([{ account: 'api-key/billing', source: 'file' }])
      expect(list.stdout).not.to.include(stored)
    })

    it('given the next scheduled rotation, then the stored secret is replaced by the newer key', async () => {
      const k = await create('ci', '--rotate-every', '1d')
      await makeDue(k.key.id)
      const first = await runJson(['api-key', 'rotate', '--due', '--to-keychain'], { env })
      await makeDue(first.json.rotated[0].id)
      const second = await runJson(['api-key', 'rotate', '--due', '--to-keychain'], { env })
      expect(second.json.rotated.map((x: { previousId: string }) => x.previousId)).to.deep.equal([first.json.rotated[0].id])
      const stored = JSON.parse(await readFile(join(dataDir, 'credentials.json'), 'utf8'))['api-key/ci'] as string
      const v = await runJson(['api-key', 'validate'], { input: `${stored}\n` })
      expect(v.json.key.id).to.equal(second.json.rotated[0].id)
    })

    it('given two due keys of one name, then the first is stored, the second fails with a conflict and stays unrotated', async () => {
      const a = await create('dup', '--rotate-every', '1d')
      const b = await create('dup', '--rotate-every', '1d')
      await makeDue(a.key.id)
      await makeDue(b.key.id)
      const r = await runJson(['api-key', 'rotate', '--due', '--to-keychain'], { env })
      expect(r.json.rotated.map((x: { previousId: string }) => x.previousId)).to.deep.equal([a.key.id])
      expect(r.json.failed).to.have.length(1)
      expect(r.json.failed[0].id).to.equal(b.key.id)
      expect(r.json.failed[0].error).to.match(/api-key\/dup already holds the secret of key_/)
      const [row] = await sql`select replaced_by from api_keys where key_id = ${b.key.id}`
      expect(row!.replaced_by).to.equal(null)
      expect((await runJson(['api-key', 'validate'], { input: `${b.secret}\n` })).code).to.equal(0)
    })

    it('given --to-keychain without --due, then it is a usage error', async () => {
      const k = await create('x')
      const r = await runJson(['api-key', 'rotate', k.key.id, '--to-keychain'], { env })
      expect(r.code).to.equal(2)
    })
  })
})
