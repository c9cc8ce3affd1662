// One scenario that makes every kind of secret momentry handles — keys of all five types
// (rotated, revoked, disabled, refused), the admin key of a spawned `serve` and its traffic, a
// webhook's signing secret (sealed at rest, so in no row of the dump), Gitea tokens and n8n keys from the fakes, the audit key — and then
// looks for each of them wherever it must not be: a pg_dump of the database, every Redis key
// and value under the run's prefix, serve's stdout and stderr, every CLI stderr, every stdout
// but the one that prints that secret once, the webhook deliveries, and every process's argv.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import type { IncomingHttpHeaders, Server } from 'node:http'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { createClient } from '@redis/client'
import { expect } from 'chai'

import { WEBHOOK_EVENTS } from '../../src/core/webhooks/webhook-events.js'
import type { CliOptions, CliResult } from '../helpers/cli.js'
import { runCli } from '../helpers/cli.js'
import { dumpTestDatabase, openTestSql, truncateAll } from '../helpers/db.js'
import type { FakeGitea } from '../helpers/fake-gitea.js'
import { startFakeGitea } from '../helpers/fake-gitea.js'
import type { FakeN8n } from '../helpers/fake-n8n.js'
import { startFakeN8n } from '../helpers/fake-n8n.js'
import type { ServeProcess } from '../helpers/serve.js'
import { startServe } from '../helpers/serve.js'

interface Secret {
  what: string
  value: string
}

/** A CLI run as the sweep keeps it: its argv and output, and the secret it printed on purpose. */
interface Run extends CliResult {
  args: string[]
  printed?: string
}

/** The forms in which a secret could leak: as is, its random part alone, and as hex (a bytea column). */
function needles(s: Secret): string[] {
  const forms = [s.value, Buffer.from(s.value).toString('hex')]
  if (s.value.startsWith('mtry_')) forms.push(s.value.slice(9, 52)) // the 43-character random body
  if (s.value.startsWith('whsec_')) forms.push(s.value.slice(6), Buffer.from(s.value.slice(6), 'base64').toString('hex'))
  if (s.what === 'audit key') forms.push(Buffer.from(s.value, 'base64').toString('hex'))
  return forms
}

function receiver(): Promise<{ server: Server; url: string; got: { headers: IncomingHttpHeaders; body: string }[] }> {
  const got: { headers: IncomingHttpHeaders; body: string }[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      got.push({ headers: req.headers, body })
      res.end()
    })
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got })))
}

/** Every key under `prefix` with its value read by its type, as one text to search. */
async function redisUnderPrefix(prefix: string): Promise<{ keys: number; text: string }> {
  const redis = createClient({ url: process.env.REDIS_URL })
  await redis.connect()
  const parts: string[] = []
  let keys = 0
  try {
    for await (const batch of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      for (const key of batch) {
        keys++
        const type = await redis.type(key)
        let value: unknown
        if (type === 'string') value = await redis.get(key)
        else if (type === 'hash') value = await redis.hGetAll(key)
        else if (type === 'list') value = await redis.lRange(key, 0, -1)
        else if (type === 'set') value = await redis.sMembers(key)
        else if (type === 'zset') value = await redis.zRangeWithScores(key, 0, -1)
        else if (type === 'stream') value = await redis.xRange(key, '-', '+')
        else value = `(${type})`
        parts.push(`${key} ${JSON.stringify(value)}`)
      }
    }
  } finally {
    await redis.close()
  }
  return { keys, text: parts.join('\n') }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('secrets sweep: every secret a full scenario makes, searched for wherever it must not be', function () {
  this.timeout(120_000)
  const sql = openTestSql()
  let gitea: FakeGitea
  let n8n: FakeN8n
  let rx: Awaited<ReturnType<typeof receiver>>
  let serve: ServeProcess | undefined
  let dataDir: string

  before(async () => {
    await truncateAll(sql)
    await sql`truncate webhooks cascade`
    gitea = await startFakeGitea()
    n8n = await startFakeN8n()
    rx = await receiver()
    dataDir = mkdtempSync(join(tmpdir(), 'momentry-sweep-'))
  })
  after(async () => {
    await serve?.stop()
    await gitea?.close()
    await n8n?.close()
    await new Promise((r) => rx?.server.close(r))
    rmSync(dataDir, { recursive: true, force: true })
    await sql.end()
  })

  it('given keys of all five types rotated, revoked, disabled and refused, serve traffic, a webhook, Gitea and n8n tokens and the audit trail, then no secret is in the dump, Redis, logs, stderr, other stdout, deliveries or argv', async () => {
    const secrets: Secret[] = [{ what: 'audit key', value: process.env.MOMENTRY_AUDIT_KEY! }]
    const keep = (what: string, value: unknown) => {
      expect(value, what).to.be.a('string').and.have.length.above(7)
      secrets.push({ what, value: value as string })
      return value as string
    }
    // Credentials reach the CLI by the environment, never argv, as the README tells users to pass them.
    const env = {
      GITEA_URL: gitea.url,
      GITEA_USERNAME: 'admin',
      GITEA_PASSWORD: 'admin-pw',
      N8N_URL: n8n.url,
      N8N_EMAIL: 'owner@example.com',
      N8N_PASSWORD: 'Owner-pw1',
      MOMENTRY_DATA_DIR: dataDir,
      MOMENTRY_HTTP_TIMEOUT_SECONDS: '2',
      // Refusals are part of the scenario; other files of the run fail from loopback too. The
      // sweep is about where secrets go, not the lockout: a limit nobody reaches keeps it so.
      RATE_LIMIT_MAX_ATTEMPTS: '1000000',
    }
    const runs: Run[] = []
    /** Run a command; `prints` names the JSON field holding the secret it prints on purpose, once. */
    const cli = async (args: string[], options: CliOptions & { prints?: string; expectCode?: number } = {}) => {
      const r = await runCli(args, { ...options, env: { ...env, ...options.env } })
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(options.expectCode ?? 0)
      const run: Run = { ...r, args }
      if (options.prints) run.printed = keep(`${args.slice(0, 2).join(' ')} ${options.prints}`, options.prints.split('.').reduce((o: any, k) => o?.[k], r.json))
      runs.push(run)
      return run
    }

    // A webhook for every event, to a local receiver.
    const hook = await cli(['webhook', 'add', rx.url, '--events', WEBHOOK_EVENTS.join(','), '--json'], { prints: 'secret' })
    expect(hook.printed).to.match(/^whsec_/)

    // Keys of every type; the system one is serve's admin key.
    const created: Record<string, Run> = {}
    for (const [type, scopes] of [['system', 'admin'], ['user', 'keys:read'], ['service', 'keys:read,billing.export'], ['integration', 'hooks:write'], ['emergency', 'admin']] as const) {
      created[type] = await cli(['api-key', 'create', '--name', `sweep-${type}`, '--type', type, '--scopes', scopes, '--owner', 'sweep', '--meta', 'ticket=OPS-1', '--json'], { prints: 'secret' })
    }
    const admin = created.system!.printed!
    const rotated = await cli(['api-key', 'rotate', created.service!.json.key.id, '--grace', '1h', '--json'], { prints: 'secret' })
    await cli(['api-key', 'rotate', created.integration!.json.key.id, '--force', '--json'], { prints: 'secret' })
    await cli(['api-key', 'disable', created.user!.json.key.id, '--reason', 'sweep', '--json'])
    await cli(['api-key', 'revoke', created.emergency!.json.key.id, '--reason', 'sweep', '--json'])

    // Validations, the key on stdin: valid, wrong scope, disabled, revoked, malformed.
    await cli(['api-key', 'validate', '--json'], { input: rotated.printed! })
    await cli(['api-key', 'validate', '--require-scope', 'keys:write', '--json'], { input: rotated.printed!, expectCode: 3 })
    await cli(['api-key', 'validate', '--json'], { input: created.user!.printed!, expectCode: 3 })
    await cli(['api-key', 'validate', '--json'], { input: created.emergency!.printed!, expectCode: 3 })
    await cli(['api-key', 'validate', '--json'], { input: `${rotated.printed!.slice(0, -1)}x`, expectCode: 3 })
    // The same with the key named by --key-env: in the environment, not argv.
    await cli(['api-key', 'validate', '--key-env', 'SWEEP_KEY'], { env: { SWEEP_KEY: created.service!.printed! } })

    // A spawned serve with traffic: verifies and every admin route, the admin key as bearer.
    serve = await startServe({ MOMENTRY_DATA_DIR: dataDir, RATE_LIMIT_MAX_ATTEMPTS: env.RATE_LIMIT_MAX_ATTEMPTS })
    const responses: { what: string; text: string; allowed?: string }[] = []
    const call = async (method: string, path: string, body?: unknown, bearer = admin) => {
      const res = await fetch(serve!.url + path, {
        method,
        headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(path.startsWith('/v1/admin') ? { authorization: `Bearer ${bearer}` } : {}) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      const text = await res.text()
      expect(res.status, `${method} ${path}: ${text}`).to.be.below(500)
      return { status: res.status, text, json: JSON.parse(text) as any }
    }
    for (const key of [rotated.printed!, created.service!.printed!, created.user!.printed!, created.emergency!.printed!, 'mtry_svc_malformed', admin]) {
      const r = await call('POST', '/v1/keys/verify', { key, requiredScopes: ['keys:read'] })
      responses.push({ what: 'verify', text: r.text })
    }
    const made = await call('POST', '/v1/admin/api-keys', { name: 'sweep-http', type: 'service', scopes: ['keys:read'] })
    expect(made.status).to.equal(201)
    responses.push({ what: 'create over HTTP', text: made.text, allowed: keep('POST /v1/admin/api-keys secret', made.json.secret) })
    const reRotated = await call('POST', `/v1/admin/api-keys/${made.json.key.id}/rotate`, { grace: '1h' })
    responses.push({ what: 'rotate over HTTP', text: reRotated.text, allowed: keep('rotate over HTTP secret', reRotated.json.secret) })
    for (const [method, path, body] of [
      ['GET', '/v1/admin/api-keys?limit=100'],
      ['GET', `/v1/admin/api-keys/${made.json.key.id}`],
      ['PATCH', `/v1/admin/api-keys/${reRotated.json.key.id}`, { enabled: false, reason: 'sweep' }],
      ['DELETE', `/v1/admin/api-keys/${reRotated.json.key.id}?reason=sweep`],
      ['GET', '/v1/admin/audit?limit=1000'],
      ['GET', '/v1/admin/anomalies'],
      ['GET', '/v1/admin/lockouts'],
    ] as [string, string, unknown?][]) {
      const r = await call(method, path, body)
      expect(r.status, `${method} ${path}: ${r.text}`).to.equal(200)
      responses.push({ what: `${method} ${path}`, text: r.text })
    }
    // A wrong admin key and a key without the scope: refused, and the refusal echoes neither.
    responses.push({ what: 'admin with a revoked key', text: (await call('GET', '/v1/admin/api-keys', undefined, created.emergency!.printed!)).text })
    responses.push({ what: 'admin without the scope', text: (await call('GET', '/v1/admin/api-keys', undefined, rotated.printed!)).text })
    await call('POST', '/v1/usage', { keyId: rotated.json.key.id, ip: '203.0.113.9', ok: true })

    // Gitea and n8n: mint, rotate, delete.
    const gCreated = await cli(['gitea', 'create', '--user', 'alice', '--name', 'sweep', '--scopes', 'read:repository', '--json'], { prints: 'secret' })
    const gRotated = await cli(['gitea', 'rotate', String(gCreated.json.token.id), '--json'], { prints: 'secret' })
    await cli(['gitea', 'delete', String(gRotated.json.token.id), '--json'])
    const nCreated = await cli(['n8n', 'create', '--label', 'sweep', '--scopes', 'workflow:read', '--json'], { prints: 'secret' })
    const nRotated = await cli(['n8n', 'rotate', String(nCreated.json.key.id), '--json'], { prints: 'secret' })
    await cli(['n8n', 'delete', String(nRotated.json.key.id), '--json'])
    await cli(['gitea', 'list', '--json'])
    await cli(['n8n', 'list', '--json'])

    // The audit trail: listed (decrypted), verified, checkpointed.
    await cli(['audit', 'list', '--limit', '1000', '--json'])
    await cli(['audit', 'verify', '--json'])
    await cli(['audit', 'checkpoint', '--out', join(dataDir, 'checkpoint.txt')])
    const checkpoint = readFileSync(join(dataDir, 'checkpoint.txt'), 'utf8')
    await cli(['api-key', 'list', '--json'])
    await cli(['api-key', 'stats', '--json'])
    await cli(['report', 'security', '--format', 'json'])
    await cli(['config', '--json'])

    // What every process on this machine shows in ps, while serve runs.
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })

    // Let the webhooks of serve's own changes arrive, then stop it so its last lines are written.
    for (let i = 0; i < 50 && !rx.got.some((g) => JSON.parse(g.body).type === 'key.revoked' && JSON.stringify(JSON.parse(g.body).data).includes(reRotated.json.key.id)); i++) await sleep(100)
    expect(await serve.stop()).to.equal(0)
    const serveLogs = `${serve.stdout?.() ?? ''}\n${serve.stderr()}`
    serve = undefined

    const dump = dumpTestDatabase()
    const redis = await redisUnderPrefix(process.env.MOMENTRY_REDIS_PREFIX!)

    // The places really hold what was done: the sweep searches real data, not empty strings.
    expect(secrets.length).to.be.at.least(14)
    expect(dump).to.include(created.system!.json.key.id).and.include(hook.json.webhook.id)
    expect(redis.keys, 'Redis keys under the prefix').to.be.above(0)
    expect(serveLogs).to.match(/serving on/)
    expect(rx.got.length, 'webhook deliveries').to.be.above(10)
    expect(runs.length).to.be.above(25)

    // A webhook's signing secret is symmetric, so momentry must keep it to sign; it keeps it
    // sealed under the audit key (sql/0013), so the dump holds it nowhere, its own row included.
    const webhookRows = dump.split('\n').filter((line) => line.startsWith('INSERT INTO public.webhooks '))
    expect(webhookRows).to.have.length(1)
    expect(webhookRows[0]!.split(hook.printed!).length - 1, 'the signing secret in its webhook row').to.equal(0)

    const places: [string, string][] = [
      ['pg_dump', dump],
      ['Redis', redis.text],
      ["serve's logs", serveLogs],
      ['the audit checkpoint', checkpoint],
      ['ps', ps],
      ...rx.got.map((g, i): [string, string] => [`webhook delivery ${i}`, `${JSON.stringify(g.headers)} ${g.body}`]),
      ...runs.flatMap((r): [string, string][] => [
        [`argv of ${r.args.slice(0, 2).join(' ')}`, r.args.join(' ')],
        [`stderr of ${r.args.slice(0, 2).join(' ')}`, r.stderr],
      ]),
    ]
    const leaks: string[] = []
    for (const s of secrets) {
      const forms = needles(s)
      for (const [where, text] of places) if (forms.some((f) => text.includes(f))) leaks.push(`${s.what} in ${where}`)
      // stdout holds a secret only where it is printed on purpose, once.
      for (const r of runs) if (r.printed !== s.value && forms.some((f) => r.stdout.includes(f))) leaks.push(`${s.what} in stdout of ${r.args.slice(0, 3).join(' ')}`)
      for (const r of responses) if (r.allowed !== s.value && forms.some((f) => r.text.includes(f))) leaks.push(`${s.what} in the answer to ${r.what}`)
    }
    expect(leaks).to.deep.equal([])
    // And the secrets printed on purpose are printed exactly once each.
    for (const r of runs.filter((x) => x.printed)) expect(r.stdout.split(r.printed!).length - 1, r.args.join(' ')).to.equal(1)
  })
})
