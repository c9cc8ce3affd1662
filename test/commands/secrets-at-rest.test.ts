import { expect } from 'chai'

import { runJson } from '../helpers/cli.js'
import { auditRows, dumpTestDatabase, openTestSql, truncateAll } from '../helpers/db.js'

describe('secrets at rest', () => {
  const sql = openTestSql()
  beforeEach(() => truncateAll(sql))
  after(() => sql.end())

  it('given keys created, rotated, disabled and revoked, when the whole database is dumped, then no raw key (nor its random body) appears in it', async () => {
    const secrets: string[] = []
    const a = await runJson(['api-key', 'create', '--name', 'a', '--type', 'system', '--scopes', 'admin'])
    secrets.push(a.json.secret)
    const rotated = await runJson(['api-key', 'rotate', a.json.key.id])
    secrets.push(rotated.json.secret)
    const b = await runJson(['api-key', 'create', '--name', 'b', '--type', 'emergency'])
    secrets.push(b.json.secret)
    await runJson(['api-key', 'disable', b.json.key.id])
    await runJson(['api-key', 'revoke', b.json.key.id, '--reason', 'test'])
    const forced = await runJson(['api-key', 'rotate', rotated.json.key.id, '--force'])
    secrets.push(forced.json.secret)
    for (const s of secrets) expect(s).to.match(/^mtry_/)

    const dump = dumpTestDatabase({ dataOnly: true })
    expect(dump).to.include(a.json.key.id) // the dump really has the rows
    for (const secret of secrets) {
      expect(dump).not.to.include(secret)
      expect(dump).not.to.include(secret.slice(9, 40)) // the random body, wherever it might be copied
    }
    const audit = (await auditRows(sql)).map((r) => ({ d: JSON.stringify(r.details) }))
    expect(audit.length).to.equal(8) // 4 creates, 2 rotations, a disable, a revoke
    for (const row of audit) for (const secret of secrets) expect(row.d).not.to.include(secret.slice(9, 40))
  })
})
