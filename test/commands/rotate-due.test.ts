// `api-key rotate --due` without --json: people get a summary, scripts still get the keys
// alone on stdout. Commands run in this process.
import { expect } from 'chai'

import { runCli, runJson } from '../helpers/cli.js'
import { openTestSql, truncateAll } from '../helpers/db.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('api-key rotate --due, as text', () => {
  const sql = openTestSql()
  beforeEach(() => truncateAll(sql))
  after(() => sql.end())

  it('given nothing is due, then it says so on stderr, stdout stays empty, exit 0', async () => {
    await runJson(['api-key', 'create', '--name', 'later', '--type', 'service', '--rotate-every', '30d'])
    const r = await runCli(['api-key', 'rotate', '--due'])
    expect([r.code, r.stdout, r.stderr]).to.deep.equal([0, '', 'No key is due for rotation.\n'])
  })

  it('given two keys due, then stdout holds one "<new id> <key>" line each and stderr a summary naming the old keys, not JSON', async () => {
    const a = (await runJson(['api-key', 'create', '--name', 'billing', '--type', 'service', '--rotate-every', '1s'])).json
    const b = (await runJson(['api-key', 'create', '--name', 'ci', '--type', 'user', '--rotate-every', '1s'])).json
    await sleep(1100)
    const r = await runCli(['api-key', 'rotate', '--due'])
    expect(r.code, r.stderr).to.equal(0)
    expect(() => JSON.parse(r.stdout)).to.throw()
    const lines = r.stdout.trim().split('\n').map((l) => l.split(' '))
    expect(lines).to.have.length(2)
    for (const [id, secret] of lines) {
      expect(id).to.match(/^key_\w+$/)
      const v = await runJson(['api-key', 'validate'], { input: `${secret}\n` })
      expect(v.json).to.deep.include({ valid: true })
      expect(v.json.key.id).to.equal(id)
    }
    expect(r.stderr).to.match(/^Rotated 2 key\(s\)\. The new keys above are shown once/)
    for (const old of [a.key.id, b.key.id]) expect(r.stderr).to.include(old)
    expect(r.stderr).to.match(/billing/).and.match(/ci/)
    expect(r.stderr).not.to.include('mtry_')
  })
})
