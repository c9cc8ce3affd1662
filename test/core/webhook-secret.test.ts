import { randomBytes } from 'node:crypto'

import { expect } from 'chai'

import type { Logger } from '../../src/core/log.js'
import { silentLogger } from '../../src/core/log.js'
import { drainOutbox } from '../../src/core/webhooks/drain-outbox.js'
import { enqueueTest } from '../../src/core/webhooks/outbox.js'
import { addWebhook } from '../../src/core/webhooks/webhooks.js'
import { openTestSql, testCore, truncateAll } from '../helpers/db.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('webhook secrets sealed under the audit keyring', () => {
  const sql = openTestSql()
  beforeEach(async () => {
    await truncateAll(sql)
    await sql`truncate webhooks cascade`
  })
  after(() => sql.end())

  it('given a sealed secret, when opened for another webhook or as an audit row, then it does not open: the webhook id is its associated data', async () => {
    const core = testCore(sql)
    try {
      const sealed = await core.ctx.audit.sealSecret('webhook/whk_aaaaaaaaaaaaaaaa', 'whsec_x')
      expect(await core.ctx.audit.openSecret('webhook/whk_aaaaaaaaaaaaaaaa', sealed, 'it')).to.equal('whsec_x')
      const refusal = await core.ctx.audit.openSecret('webhook/whk_bbbbbbbbbbbbbbbb', sealed, 'the other').catch((e: Error) => e)
      expect((refusal as Error).message).to.match(/^the other does not open under audit key ak_/)
      expect(await core.ctx.audit.open('1', 'webhook', null, sealed).catch((e: Error) => e)).to.be.instanceOf(Error)
    } finally {
      await core.close()
    }
  })

  it("given serve's outbox drain and an audit key that does not open a due delivery's secret, then it warns once (not every round) and the delivery stays pending and untried", async () => {
    const writer = testCore(sql)
    const { webhook } = await addWebhook(writer.ctx, { url: 'http://127.0.0.1:9/hook', events: ['key.created'] })
    await enqueueTest(writer.ctx, webhook.id)
    await writer.close()
    const warnings: string[] = []
    const log: Logger = { ...silentLogger, warn: (line: string) => warnings.push(line) }
    const core = testCore(sql, { env: { MOMENTRY_AUDIT_KEY: randomBytes(32).toString('base64') }, log })
    const stop = drainOutbox(core.ctx, 50)
    try {
      await sleep(600)
    } finally {
      await stop()
      await core.close()
    }
    expect(warnings).to.have.length(1)
    expect(warnings[0]).to.match(new RegExp(`^webhook outbox: the signing secret of webhook ${webhook.id} is sealed under audit key ak_\\w{12}, which is not available here\\. Add that key to MOMENTRY_AUDIT_KEY`))
    const [delivery] = await sql`select status, attempts from webhook_deliveries`
    expect(delivery).to.deep.equal({ status: 'pending', attempts: 0 })
  })
})
