// `serve` runs in this process (serveInProcess: the same core and server, its own connections):
// it is the long-running instance whose outbox drain delivers what waited while the receiver
// was down. The CLI runs in process too.
import { createHmac } from 'node:crypto'
import type { IncomingHttpHeaders, Server } from 'node:http'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { expect } from 'chai'

import { auditKeyId } from '../../src/core/audit/audit-keys.js'
import { expectJsonError, expectOneLineError } from '../helpers/assert.js'
import { runCli, runJson } from '../helpers/cli.js'
import { dumpTestDatabase, openTestSql, truncateAll } from '../helpers/db.js'
import type { InProcessServe } from '../helpers/serve.js'
import { serveInProcess } from '../helpers/serve.js'

interface Received {
  headers: IncomingHttpHeaders
  body: string
}

/** A receiver that answers `status` and verifies nothing itself: the test checks signatures independently. */
function receiver(port = 0, status = 200): Promise<{ server: Server; url: string; got: Received[] }> {
  const got: Received[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      got.push({ headers: req.headers, body })
      res.statusCode = status
      res.end()
    })
  })
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got })))
}

/** The Standard Webhooks check, written here from the spec, not with momentry's code. */
function signatureIsValid(secret: string, r: Received): boolean {
  const id = String(r.headers['webhook-id'])
  const ts = String(r.headers['webhook-timestamp'])
  const expected = createHmac('sha256', Buffer.from(secret.replace(/^whsec_/, ''), 'base64')).update(`${id}.${ts}.${r.body}`).digest('base64')
  return String(r.headers['webhook-signature']).split(' ').includes(`v1,${expected}`)
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('webhooks (outbox, Standard Webhooks signatures)', function () {
  this.timeout(60_000)
  const sql = openTestSql()
  const servers: Server[] = []
  let serve: InProcessServe | undefined
  beforeEach(async () => {
    await truncateAll(sql)
    await sql`truncate webhooks cascade`
  })
  afterEach(async () => {
    await serve?.stop()
    serve = undefined
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))))
  })
  after(() => sql.end())

  it('given a webhook for key events, when the CLI creates and revokes a key, then the receiver gets both at once, correctly signed and without secrets', async () => {
    const rx = await receiver()
    servers.push(rx.server)
    const added = await runJson(['webhook', 'add', rx.url, '--events', 'key.created,key.revoked'])
    expect(added.code).to.equal(0)
    const secret = added.json.secret
    expect(secret).to.match(/^whsec_/)
    const key = await runJson(['api-key', 'create', '--name', 'hooked', '--type', 'service'])
    await runJson(['api-key', 'revoke', key.json.key.id, '--reason', 'test'])
    expect(rx.got.map((r) => JSON.parse(r.body).type)).to.deep.equal(['key.created', 'key.revoked'])
    for (const r of rx.got) {
      expect(signatureIsValid(secret, r), 'signature').to.equal(true)
      expect(Math.abs(Number(r.headers['webhook-timestamp']) - Date.now() / 1000)).to.be.below(60)
      expect(String(r.headers['webhook-id'])).to.match(/^msg_/)
      expect(r.body).to.not.include(key.json.secret)
      expect(r.body).to.not.include(key.json.secret.slice(9, 40))
    }
    expect(JSON.parse(rx.got[1]!.body).data).to.deep.include({ keyId: key.json.key.id, reason: 'test' })
    const deliveries = await runJson(['webhook', 'deliveries'])
    expect(deliveries.json.items.map((d: any) => d.status)).to.deep.equal(['delivered', 'delivered'])
  })

  it('given a receiver that is down, when an event is raised, then it waits in the outbox and serve delivers it once the receiver is back, exactly once', async () => {
    const probe = await receiver()
    const port = (probe.server.address() as AddressInfo).port
    await new Promise((r) => probe.server.close(r)) // a port nobody listens on now
    const added = await runJson(['webhook', 'add', `http://127.0.0.1:${port}/hook`, '--events', 'key.created'])
    await runJson(['api-key', 'create', '--name', 'later', '--type', 'service'])
    const [pending] = (await runJson(['webhook', 'deliveries'])).json.items
    expect(pending).to.include({ status: 'pending', attempts: 1, eventType: 'key.created' })
    expect(pending.lastError).to.match(/ECONNREFUSED/)

    const rx = await receiver(port)
    servers.push(rx.server)
    await sql`update webhook_deliveries set next_attempt_at = now()` // skip the 5 s backoff
    serve = await serveInProcess()
    for (let i = 0; i < 50 && rx.got.length === 0; i++) await sleep(100)
    expect(rx.got).to.have.length(1)
    expect(signatureIsValid(added.json.secret, rx.got[0]!)).to.equal(true)
    await sleep(2500) // two more drain rounds of serve
    expect(rx.got).to.have.length(1)
    const [done] = (await runJson(['webhook', 'deliveries'])).json.items
    expect(done).to.include({ status: 'delivered', attempts: 2, lastStatus: 200 })
  })

  it('given a receiver answering 500, then `webhook test` exits 7, and `redeliver` succeeds once it answers 2xx', async () => {
    const bad = await receiver(0, 500)
    servers.push(bad.server)
    const added = await runJson(['webhook', 'add', bad.url, '--events', 'anomaly.detected'])
    const test = await runJson(['webhook', 'test', added.json.webhook.id])
    expect(test.code).to.equal(7)
    expect(test.json).to.have.all.keys('delivery')
    expect(test.json.delivery).to.include({ status: 'pending', lastStatus: 500, lastError: 'HTTP 500' })
    expect(JSON.parse(bad.got[0]!.body).type).to.equal('webhook.test')
    await new Promise((r) => bad.server.close(r))
    servers.length = 0
    const good = await receiver((bad.server.address() as AddressInfo | null)?.port ?? Number(new URL(bad.url).port))
    servers.push(good.server)
    const again = await runJson(['webhook', 'redeliver', test.json.delivery.id])
    expect(again.code).to.equal(0)
    expect(again.json).to.have.all.keys('delivery')
    expect(again.json.delivery).to.include({ status: 'delivered', lastStatus: 200 })
    expect(good.got[0]!.headers['webhook-id']).to.equal(test.json.delivery.id) // same id: receivers can de-duplicate
  })

  it('given --secret-env, when `webhook add` runs, then the secret is not printed back (text and --json) and deliveries are signed with it', async () => {
    const rx = await receiver()
    servers.push(rx.server)
    const mine = `whsec_${Buffer.alloc(24, 7).toString('base64')}`
    const text = await runCli(['webhook', 'add', rx.url, '--events', 'key.created', '--secret-env', 'MY_HOOK_SECRET'], { env: { MY_HOOK_SECRET: mine } })
    expect(text.code, text.stderr).to.equal(0)
    expect(text.stdout + text.stderr).not.to.include(mine)
    expect(text.stdout).to.match(/^Added whk_\w{16} for key\.created\. It signs with the secret in MY_HOOK_SECRET \(not shown\)\.\n$/)
    const json = await runJson(['webhook', 'add', rx.url, '--events', 'key.created', '--secret-env', 'MY_HOOK_SECRET'], { env: { MY_HOOK_SECRET: mine } })
    expect(json.code).to.equal(0)
    expect(json.json.secret).to.equal(null)
    expect(json.stdout + json.stderr).not.to.include(mine)
    await runJson(['webhook', 'test', json.json.webhook.id])
    expect(signatureIsValid(mine, rx.got.at(-1)!)).to.equal(true)
  })

  it('given a webhook id that does not exist, when `webhook deliveries` lists it, then not found (exit 5), text and --json', async () => {
    expectJsonError(await runJson(['webhook', 'deliveries', 'whk_aaaaaaaaaaaaaaaa']), 5, 'NOT_FOUND')
    expectOneLineError(await runCli(['webhook', 'deliveries', 'whk_aaaaaaaaaaaaaaaa']), 5, /no webhook with id whk_aaaaaaaaaaaaaaaa/)
    const rx = await receiver()
    servers.push(rx.server)
    const added = await runJson(['webhook', 'add', rx.url, '--events', 'key.created'])
    const none = await runCli(['webhook', 'deliveries', added.json.webhook.id])
    expect([none.code, none.stdout.trim()]).to.deep.equal([0, 'No deliveries.'])
  })

  it('given a receiver answering 500, when `webhook test` fails, then the retry time is given to the second with how long until it', async () => {
    const bad = await receiver(0, 500)
    servers.push(bad.server)
    const added = await runJson(['webhook', 'add', bad.url, '--events', 'anomaly.detected'])
    const r = await runCli(['webhook', 'test', added.json.webhook.id])
    expect(r.code).to.equal(7)
    const m = /not delivered: HTTP 500; will retry at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ) \(in ([45]) s\)/.exec(r.stdout)
    expect(m, r.stdout).to.not.equal(null)
    expect(Date.parse(m![1]!.replace(' ', 'T')) - Date.now()).to.be.within(3000, 5000)
  })

  it('given a URL with a user and password, when `webhook add` runs, then exit 2 with one line that does not echo them, and nothing is stored', async () => {
    for (const url of ['https://hookuser:hunter2pass@ops.example.com/hooks', 'https://tok3nsecret@ops.example.com/hooks', 'http://:hunter2pass@127.0.0.1:9/x']) {
      const text = await runCli(['webhook', 'add', url, '--events', 'key.created'])
      expectOneLineError(text, 2, /^Error: URL must not hold a user or password \(https:\/\/user:pass@…\): momentry would not send them\. Deliveries are signed: have the receiver check the webhook-signature header/)
      const json = await runJson(['webhook', 'add', url, '--events', 'key.created'])
      expectJsonError(json, 2, 'USAGE_ERROR')
      for (const leak of ['hunter2pass', 'tok3nsecret', 'hookuser']) expect(text.stderr + json.stdout, url).not.to.include(leak)
    }
    expect((await sql`select count(*)::int as n from webhooks`)[0]!.n).to.equal(0)
  })

  it('given a webhook row with credentials in its URL (added before they were refused), when listed, then its password is not shown', async () => {
    const added = await runJson(['webhook', 'add', 'https://ops.example.com/hooks', '--events', 'key.created'])
    await sql`update webhooks set url = 'https://hookuser:hunter2pass@ops.example.com/hooks' where webhook_id = ${added.json.webhook.id}`
    const list = await runJson(['webhook', 'list'])
    expect(list.json.items[0].url).to.equal('https://hookuser:***@ops.example.com/hooks')
    expect((await runCli(['webhook', 'list'])).stdout).not.to.include('hunter2pass')
  })

  describe('signing secrets sealed at rest (sql/0013)', () => {
    const runKeyId = () => auditKeyId(Buffer.from(process.env.MOMENTRY_AUDIT_KEY!, 'base64'))
    /** A row as momentry wrote it before sql/0013: the secret in the clear. */
    const unseal = (webhookId: string, secret: string) => sql`update webhooks set secret = ${secret}, secret_key_id = null, secret_nonce = null, secret_sealed = null where webhook_id = ${webhookId}`

    it('given a webhook added (generated or own secret), then the database holds its secret only sealed under the audit key, a pg_dump holds it in no form, and deliveries are signed with it', async () => {
      const rx = await receiver()
      servers.push(rx.server)
      const generated = await runJson(['webhook', 'add', rx.url, '--events', 'key.created'])
      const mine = `whsec_${randomBytes(24).toString('base64')}`
      const own = await runJson(['webhook', 'add', rx.url, '--events', 'key.created', '--secret-env', 'OWN_SECRET'], { env: { OWN_SECRET: mine } })
      const rows = await sql`select webhook_id, secret, secret_key_id, secret_nonce, secret_sealed from webhooks order by id`
      expect(rows).to.have.length(2)
      for (const row of rows) {
        expect(row.secret).to.equal(null)
        expect(row.secret_key_id).to.equal(runKeyId())
        expect(row.secret_nonce).to.have.length(12)
        expect(row.secret_sealed.length).to.be.above(16)
      }
      const dump = dumpTestDatabase()
      expect(dump).to.include(generated.json.webhook.id)
      for (const secret of [generated.json.secret as string, mine]) {
        for (const form of [secret, secret.slice(6), Buffer.from(secret.slice(6), 'base64').toString('hex'), Buffer.from(secret).toString('hex')]) expect(dump).not.to.include(form)
      }
      await runJson(['api-key', 'create', '--name', 'sealed', '--type', 'service'])
      expect(rx.got).to.have.length(2)
      // One delivery per webhook, each signed with its own secret.
      expect(rx.got.filter((g) => signatureIsValid(generated.json.secret, g))).to.have.length(1)
      expect(rx.got.filter((g) => signatureIsValid(mine, g))).to.have.length(1)
      expect(own.json.secret).to.equal(null)
    })

    it('given a sealed secret moved onto another webhook row, when that webhook delivers, then it refuses (exit 8): a sealed secret opens for its own webhook only', async () => {
      const rx = await receiver()
      servers.push(rx.server)
      const a = await runJson(['webhook', 'add', rx.url, '--events', 'key.created'])
      const b = await runJson(['webhook', 'add', rx.url, '--events', 'key.created'])
      await sql`update webhooks set secret_nonce = s.secret_nonce, secret_sealed = s.secret_sealed from (select secret_nonce, secret_sealed from webhooks where webhook_id = ${a.json.webhook.id}) s where webhook_id = ${b.json.webhook.id}`
      const r = await runCli(['webhook', 'test', b.json.webhook.id])
      expectOneLineError(r, 8, new RegExp(`^Error: the signing secret of webhook ${b.json.webhook.id} does not open under audit key ${runKeyId()}`))
      expect(rx.got).to.have.length(0)
    })

    it('given the wrong audit key, when a delivery is due, then exit 8 with one line naming the webhook and the key id, nothing is sent, and the delivery stays pending for when the key is back', async () => {
      const rx = await receiver()
      servers.push(rx.server)
      const added = await runJson(['webhook', 'add', rx.url, '--events', 'key.created'])
      const other = randomBytes(32).toString('base64')
      const r = await runCli(['webhook', 'test', added.json.webhook.id], { env: { MOMENTRY_AUDIT_KEY: other } })
      expectOneLineError(r, 8, new RegExp(`^Error: the signing secret of webhook ${added.json.webhook.id} is sealed under audit key ${runKeyId()}, which is not available here\\. Add that key to MOMENTRY_AUDIT_KEY`))
      expect(r.stderr).not.to.include(other).and.not.include(process.env.MOMENTRY_AUDIT_KEY)
      expectJsonError(await runJson(['webhook', 'test', added.json.webhook.id], { env: { MOMENTRY_AUDIT_KEY: other } }), 8, 'AUDIT_KEY')
      expect(rx.got).to.have.length(0)
      const [pending] = (await runJson(['webhook', 'deliveries'])).json.items
      expect(pending).to.include({ status: 'pending', attempts: 0 })
      // The key back (the old one kept readable after a new current one): delivered, correctly signed.
      const again = await runJson(['webhook', 'redeliver', pending.id], { env: { MOMENTRY_AUDIT_KEY: `${other},${process.env.MOMENTRY_AUDIT_KEY}` } })
      expect(again.json.delivery).to.include({ status: 'delivered' })
      expect(signatureIsValid(added.json.secret, rx.got[0]!)).to.equal(true)
    })

    it('given no audit key at all (file store, none generated yet), when a sealed secret is to sign, then exit 8 with one line saying which key to set', async () => {
      const added = await runJson(['webhook', 'add', 'http://127.0.0.1:9/x', '--events', 'key.created'])
      const dataDir = mkdtempSync(join(tmpdir(), 'momentry-nokey-'))
      try {
        const r = await runCli(['webhook', 'test', added.json.webhook.id], { env: { MOMENTRY_AUDIT_KEY: undefined, MOMENTRY_DATA_DIR: dataDir, MOMENTRY_CREDENTIAL_STORE: 'file' } })
        expectOneLineError(r, 8, /^Error: no audit key exists yet .*Set MOMENTRY_AUDIT_KEY/)
      } finally {
        rmSync(dataDir, { recursive: true, force: true })
      }
    })

    it('given a secret stored in the clear by an older momentry, then doctor warns, `db migrate` seals it (and says so), doctor is quiet again and deliveries stay signed with the same secret', async () => {
      const rx = await receiver()
      servers.push(rx.server)
      const added = await runJson(['webhook', 'add', rx.url, '--events', 'key.created'])
      await unseal(added.json.webhook.id, added.json.secret)
      const before = (await runJson(['doctor'])).json.checks.find((c: any) => c.name === 'webhooks')
      expect(before).to.deep.include({ status: 'warn', detail: '1 webhook signing secret is stored in the clear (written before sealing at rest)', fix: 'Run `momentry db migrate`, which seals them under the audit key' })
      const migrated = await runJson(['db', 'migrate'])
      expect(migrated.json.sealedWebhookSecrets).to.equal(1)
      expect((await runCli(['db', 'migrate'])).stdout).not.to.match(/Sealed/) // nothing left to seal
      const [row] = await sql`select secret, secret_key_id from webhooks`
      expect(row).to.deep.equal({ secret: null, secret_key_id: runKeyId() })
      expect((await runJson(['doctor'])).json.checks.find((c: any) => c.name === 'webhooks')).to.include({ status: 'ok' })
      await runJson(['webhook', 'test', added.json.webhook.id])
      expect(signatureIsValid(added.json.secret, rx.got.at(-1)!)).to.equal(true)
    })

    it('given a secret stored in the clear, when a delivery uses it before any `db migrate`, then it is signed with it and sealed on the way', async () => {
      const rx = await receiver()
      servers.push(rx.server)
      const added = await runJson(['webhook', 'add', rx.url, '--events', 'key.created'])
      await unseal(added.json.webhook.id, added.json.secret)
      expect((await runJson(['webhook', 'test', added.json.webhook.id])).code).to.equal(0)
      expect(signatureIsValid(added.json.secret, rx.got.at(-1)!)).to.equal(true)
      expect((await sql`select secret from webhooks`)[0]!.secret).to.equal(null)
      await runJson(['webhook', 'test', added.json.webhook.id])
      expect(signatureIsValid(added.json.secret, rx.got.at(-1)!)).to.equal(true)
    })
  })

  it('given bad input, then one line and the documented exit code', async () => {
    expectOneLineError(await runCli(['webhook', 'add', 'ftp://x', '--events', 'key.created']), 2, /^Error: URL must be an http/)
    expectOneLineError(await runCli(['webhook', 'add', 'https://x.example', '--events', 'key.exploded']), 2, /--events must be one of key\.created.*\(got "key\.exploded"\)/)
    expectOneLineError(await runCli(['webhook', 'remove', 'nope']), 2, /not a webhook id/)
    expectJsonError(await runJson(['webhook', 'remove', 'whk_aaaaaaaaaaaaaaaa']), 5, 'NOT_FOUND')
    expectOneLineError(await runCli(['webhook', 'redeliver', 'msg_bad']), 2, /not a delivery id/)
    const list = await runJson(['webhook', 'list'])
    expect(list.json).to.deep.equal({ items: [] })
  })
})
