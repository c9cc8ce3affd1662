// Runs against a real n8n only when N8N_TEST_URL, N8N_TEST_EMAIL and N8N_TEST_PASSWORD are
// set; otherwise nothing is registered (no skipped test to misread as a pass).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { expect } from 'chai'

import { expectJsonError } from '../helpers/assert.js'
import { runJson } from '../helpers/cli.js'
import { openTestSql } from '../helpers/db.js'

const { N8N_TEST_URL: url, N8N_TEST_EMAIL: email, N8N_TEST_PASSWORD: password } = process.env

if (url && email && password) {
  describe(`n8n commands against a real n8n at ${url}`, function () {
    this.timeout(120_000)
    const sql = openTestSql()
    let dir: string
    let env: Record<string, string>
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'momentry-n8n-real-'))
      env = { N8N_URL: url, MOMENTRY_DATA_DIR: dir }
    })
    after(async () => {
      // Leave the instance as found, even after a failure half way.
      const left = await runJson(['n8n', 'list'], { env })
      for (const k of left.json?.items ?? []) if (String(k.label).startsWith('momentry-test-')) await runJson(['n8n', 'delete', k.id], { env })
      rmSync(dir, { recursive: true, force: true })
      await sql.end()
    })

    it('given the owner, when logging in, creating, listing, verifying, rotating and deleting a key, then every step matches the contract', async () => {
      const wrong = await runJson(['auth', 'login', 'n8n', '--url', url, '--email', email], { env, input: `${password}-wrong` })
      expectJsonError(wrong, 7, 'SERVICE_AUTH_FAILED')
      const login = await runJson(['auth', 'login', 'n8n', '--url', url, '--email', email], { env, input: password })
      expect(login.code, login.stdout + login.stderr).to.equal(0)

      const created = await runJson(['n8n', 'create', '--label', `momentry-test-${Date.now()}`, '--scopes', 'workflow:read,workflow:list', '--expires-in', '1d'], { env })
      expect(created.code, created.stdout + created.stderr).to.equal(0)
      expect(created.json.secret.split('.')).to.have.length(3) // a JWT
      const id = created.json.key.id

      const listed = await runJson(['n8n', 'list'], { env })
      expect(listed.code, listed.stderr).to.equal(0)
      expect(listed.json.items.find((k: any) => k.id === id)).to.include({ tracked: true, onServer: true, last4: created.json.secret.slice(-4) })
      expect(listed.stdout).not.to.include(created.json.secret)

      const valid = await runJson(['n8n', 'verify'], { env, input: created.json.secret })
      expect(valid.json).to.include({ valid: true, status: 'valid' })
      const invalid = await runJson(['n8n', 'verify'], { env, input: 'garbage' })
      expect(invalid.code).to.equal(3)

      const rotated = await runJson(['n8n', 'rotate', id], { env })
      expect(rotated.code, rotated.stdout + rotated.stderr).to.equal(0)
      expect(rotated.json.previous).to.deep.equal({ id, deleted: true })
      expect((await runJson(['n8n', 'verify'], { env, input: created.json.secret })).code).to.equal(3) // old key gone

      const deleted = await runJson(['n8n', 'delete', rotated.json.key.id], { env })
      expect(deleted.json).to.include({ confirmed: true, tracked: true })
      const again = await runJson(['n8n', 'delete', rotated.json.key.id], { env })
      expectJsonError(again, 5, 'NOT_FOUND')

      const rows = await sql`select label, last4 from n8n_api_keys where n8n_key_id = ${id}`
      expect(rows[0]!.last4).to.equal(created.json.secret.slice(-4))
    })
  })
}
