/** @jsxRuntime automatic */
/** @jsxImportSource react */
import type { ChildProcess } from 'node:child_process'
import { spawn } from 'node:child_process'
import { randomInt } from 'node:crypto'

import { createClient } from '@redis/client'
import { expect } from 'chai'
import { render } from 'ink-testing-library'

import { upsertAnomaly } from '../../src/core/anomalies/repo.js'
import { acknowledgeAnomaly, resolveAnomaly } from '../../src/core/anomalies/handle-anomaly.js'
import { createKey } from '../../src/core/api-keys/create-key.js'
import { disableKey } from '../../src/core/api-keys/change-key-state.js'
import { rotateKey } from '../../src/core/api-keys/rotate-key.js'
import type { CoreContext } from '../../src/core/context.js'
import type { Watch } from '../../src/core/watch/watch.js'
import { startWatch } from '../../src/core/watch/watch.js'
import { Dashboard } from '../../src/ui/watch/dashboard.js'
import { WatchModel } from '../../src/ui/watch/model.js'
import { auditRows, openTestSql, redisTestContext, truncateAll } from '../helpers/db.js'

const DOWN = '\u001B[B'
const prefix = process.env.MOMENTRY_REDIS_PREFIX!
const strip = (s = '') => s.replace(/\u001B\[[0-9;?]*[A-Za-z]/g, '')

async function until(what: string | (() => string), check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** The real dashboard on real data: core actions, startWatch on this run's PostgreSQL and Redis. */
function mount(ctx: CoreContext) {
  let quit = false
  let watch: Watch | undefined
  const after = async (p: Promise<unknown>) => {
    await p
    await watch?.refresh()
  }
  const model = new WatchModel(ctx.config.redisUrl ? { channel: `${prefix}anomaly:alerts`, via: 'Redis' } : { channel: 'momentry_alerts', via: 'PostgreSQL' }, {
    acknowledge: (id) => after(acknowledgeAnomaly(ctx, id)),
    resolve: (id) => after(resolveAnomaly(ctx, id)),
    disableKey: (keyId, id) => after(disableKey(ctx, { id: keyId, reason: `watch ${id}` })),
    quit: () => void (quit = true),
  })
  watch = startWatch(ctx, { onAlert: (a) => model.alert(a), onFeed: (s, d) => model.feed(s, d), onPostgres: (s, d) => model.postgres(s, d), onSnapshot: (s) => model.snapshot(s) }, { intervalMs: 300, feedRetryMs: 200 })
  const ui = render(<Dashboard model={model} width={120} height={40} colour={false} />)
  const frame = () => strip(ui.lastFrame())
  return {
    ui,
    frame,
    model,
    quitted: () => quit,
    seen: (text: string, ms?: number) => until(() => `"${text}" on screen; last frame:\n${frame()}`, () => frame().includes(text), ms),
    async close() {
      ui.unmount()
      model.close()
      await watch!.close()
    },
  }
}

describe('watch dashboard (ink, real PostgreSQL and Redis)', function () {
  this.timeout(30_000)
  const sql = openTestSql()
  let env: ReturnType<typeof redisTestContext>
  let publisher: ReturnType<typeof createClient>
  before(async () => {
    publisher = createClient({ url: process.env.REDIS_URL })
    await publisher.connect()
  })
  beforeEach(async () => {
    await truncateAll(sql)
    // Lockouts other test files left under this run's prefix would show up in the panel.
    for await (const keys of publisher.scanIterator({ MATCH: `${prefix}lockout:*` })) if (keys.length) await publisher.del(keys)
    env = redisTestContext(sql)
  })
  afterEach(() => env.close())
  after(async () => {
    await publisher.close()
    await sql.end()
  })

  async function seed(ctx: CoreContext) {
    // The panels read "this minute": seeding in the last seconds of one would show the next.
    const intoMinute = Date.now() % 60_000
    if (intoMinute > 50_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 100))
    const billing = await createKey(ctx, { name: 'billing-api', type: 'service' })
    const search = await createKey(ctx, { name: 'search-svc', type: 'service' })
    const now = new Date()
    const minute = new Date(Math.floor(now.getTime() / 60_000) * 60_000)
    await sql`insert into key_usage_minute (key_id, minute, ok_count, fail_count) values
      (${billing.key.id}, ${minute}, 900, 3), (${search.key.id}, ${minute}, 40, 77),
      (${billing.key.id}, ${new Date(minute.getTime() - 120_000)}, 450, 0)`
    const detection = (type: 'high_request_rate' | 'multiple_ips', severity: 'critical' | 'medium') => ({ type, severity, observed: 12, threshold: 5, windowSeconds: 60, details: {} })
    await upsertAnomaly(sql, 'anm_0000000000000001', billing.key.id, detection('high_request_rate', 'critical'), new Date(now.getTime() - 60_000))
    await upsertAnomaly(sql, 'anm_0000000000000002', search.key.id, detection('multiple_ips', 'medium'), new Date(now.getTime() - 30_000))
    await publisher.set(`${prefix}lockout:198.51.100.7`, String(ctx.config.rateLimit.maxAttempts), { EX: 600 })
    return { billing: billing.key.id, search: search.key.id }
  }

  it('given stored anomalies, traffic and a lockout, then every panel shows them', async () => {
    const keys = await seed(env.ctx)
    const d = mount(env.ctx)
    try {
      await d.seen('Unresolved anomalies: 2')
      await d.seen('Locked-out IPs: 1')
      const f = d.frame()
      expect(f).to.match(/PostgreSQL ● live/).and.match(/Redis ● live/)
      expect(f).to.match(/› \d\d:\d\d:\d\d MEDIUM\s+multiple_ips\s+open/) // newest first, selected
      expect(f).to.match(/CRITICAL\s+high_request_rate\s+open/)
      expect(f).to.match(/critical\s+1/).and.match(/medium\s+1/).and.match(/multiple_ips\s+1/)
      expect(f).to.include('198.51.100.7')
      expect(f).to.match(/all\s+ +[▁-█]/) // the sparkline has this minute's traffic
      expect(f).to.match(/now 1020\/min · peak 1020\/min · failures 80/)
      expect(f).to.match(/1353 billing-api[\s\S]*117 search-svc/) // by traffic
      expect(f).to.match(/77 search-svc[\s\S]*3 billing-api/) // by failures
      expect(f.split('\n')).to.have.length(39) // one line short of the terminal: no flicker
      expect(keys.billing).to.match(/^key_/)
    } finally {
      await d.close()
    }
  })

  it('given a key rotated twice with traffic on all three, then Top keys tells them apart by a short id', async () => {
    const intoMinute = Date.now() % 60_000
    if (intoMinute > 50_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 100))
    const first = await createKey(env.ctx, { name: 'billing-export', type: 'service' })
    const second = await rotateKey(env.ctx, { id: first.key.id })
    const third = await rotateKey(env.ctx, { id: second.key.id })
    const other = await createKey(env.ctx, { name: 'search-svc', type: 'service' })
    const minute = new Date(Math.floor(Date.now() / 60_000) * 60_000)
    await sql`insert into key_usage_minute (key_id, minute, ok_count, fail_count) values
      (${third.key.id}, ${minute}, 500, 0), (${second.key.id}, ${minute}, 300, 1), (${first.key.id}, ${minute}, 100, 2), (${other.key.id}, ${minute}, 50, 0)`
    const d = mount(env.ctx)
    try {
      await d.seen('search-svc')
      const f = d.frame()
      const short = (id: string) => id.slice(0, 8)
      // The panel is 30 wide: the name gives way (…) so that the id stays in view.
      expect(f).to.match(new RegExp(`500 billing-exp… ${short(third.key.id)}[\\s\\S]*301 billing-exp… ${short(second.key.id)}[\\s\\S]*102 billing-exp… ${short(first.key.id)}`))
      expect(f).to.match(/ 50 search-svc +│/) // a name used once needs no id
      expect(f).to.include(`2 billing-exp… ${short(first.key.id)}`) // by failures: the same labels
    } finally {
      await d.close()
    }
  })

  it('given an alert published on Redis, then it is rendered at the top of the feed', async () => {
    const keys = await seed(env.ctx)
    const d = mount(env.ctx)
    try {
      await d.seen('Redis ● live')
      await d.seen('Unresolved anomalies: 2')
      const alert = { id: 'anm_0000000000000009', keyId: keys.billing, keyName: 'billing-api', type: 'high_error_rate', severity: 'high', observed: 0.8, threshold: 0.5, windowSeconds: 300, detectedAt: new Date().toISOString() }
      await publisher.publish(`${prefix}anomaly:alerts`, JSON.stringify(alert))
      await d.seen('alerts 1 ·')
      expect(d.frame()).to.match(/› \d\d:\d\d:\d\d HIGH\s+high_error_rate\s+open\s+0\.8\/0\.5\s+×1\s+billing-api/)
    } finally {
      await d.close()
    }
  })

  it('given the keys a, ↓ r, d then y, f, p and q, then each acts on PostgreSQL and the screen says so', async () => {
    const keys = await seed(env.ctx)
    const d = mount(env.ctx)
    const status = async (id: string) => (await sql`select status from api_key_anomalies where anomaly_id = ${id}`)[0]!.status
    try {
      await d.seen('Unresolved anomalies: 2')
      d.ui.stdin.write('a')
      await until('acknowledged in PostgreSQL', async () => (await status('anm_0000000000000002')) === 'acknowledged')
      await d.seen('acknowledged anm_0000000000000002')
      expect(d.frame()).to.match(/multiple_ips\s+acked/)

      d.ui.stdin.write(DOWN)
      await d.seen('› ', 1000)
      await until('selection moved', () => /› \d\d:\d\d:\d\d CRITICAL/.test(d.frame()))
      d.ui.stdin.write('r')
      await until('resolved in PostgreSQL', async () => (await status('anm_0000000000000001')) === 'resolved')
      await d.seen('Unresolved anomalies: 1')

      d.ui.stdin.write('d')
      await d.seen(`Disable key ${keys.billing} (billing-api)?`)
      d.ui.stdin.write('y')
      await until('key disabled', async () => (await sql`select enabled from api_keys where key_id = ${keys.billing}`)[0]!.enabled === false)
      await d.seen(`disabled ${keys.billing}`)
      const [audit] = await auditRows(sql, { keyId: keys.billing, action: 'key.disable' })
      expect(audit!.details!.reason).to.equal('watch anm_0000000000000001')

      d.ui.stdin.write('f')
      await d.seen('filter ≥ medium')
      d.ui.stdin.write('p')
      await d.seen('PAUSED (0 held)')
      await publisher.publish(`${prefix}anomaly:alerts`, JSON.stringify({ id: 'anm_000000000000000a', keyId: keys.search, keyName: 'search-svc', type: 'unusual_time', severity: 'critical', observed: 1, threshold: 0, windowSeconds: 3600, detectedAt: new Date().toISOString() }))
      await d.seen('PAUSED (1 held)')
      expect(d.frame()).to.not.match(/CRITICAL\s+unusual_time/)
      d.ui.stdin.write('p')
      await until('held alert merged', () => /CRITICAL\s+unusual_time/.test(d.frame()))
      d.ui.stdin.write('q')
      await until('quit', () => d.quitted())
    } finally {
      await d.close()
    }
  })

  it('given no REDIS_URL, then alerts come live over PostgreSQL NOTIFY, and lockouts are listed from PostgreSQL', async () => {
    const local = redisTestContext(sql, { env: { REDIS_URL: '' } })
    const keys = await seed(local.ctx)
    await sql`insert into ip_failures (ip, attempts, window_ends) values ('198.51.100.77', ${local.ctx.config.rateLimit.maxAttempts}, now() + interval '10 minutes')`
    const d = mount(local.ctx)
    try {
      await d.seen('alerts via PostgreSQL ● live')
      await d.seen('Locked-out IPs: 1')
      await d.seen('198.51.100.77')
      const alert = { id: 'anm_000000000000000b', keyId: keys.billing, keyName: 'notified-live', type: 'unusual_time', severity: 'high', observed: 1, threshold: 0, windowSeconds: 3600, detectedAt: new Date().toISOString() }
      await sql`select pg_notify('momentry_alerts', ${JSON.stringify(alert)})`
      await until('the live alert', () => /HIGH\s+unusual_time/.test(d.frame()) && d.frame().includes('notified-live'))
    } finally {
      await d.close()
      await local.close()
    }
  })

  describe('when Redis is down at start, comes up, then drops and comes back', () => {
    let redis: ChildProcess | undefined
    const port = 16_900 + randomInt(0, 500)
    const startRedis = () => {
      redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    }
    afterEach(() => redis?.kill('SIGKILL'))

    it('then the status line follows it, says it reconnected, and alerts flow again', async () => {
      const local = redisTestContext(sql, { env: { REDIS_URL: `redis://127.0.0.1:${port}` } })
      const d = mount(local.ctx)
      try {
        await d.seen('alerts via Redis ● down')
        startRedis()
        await d.seen('alerts via Redis ● live', 10_000)
        redis!.kill('SIGKILL')
        await until(() => `Redis to drop; frame:\n${d.frame()}`, () => /alerts via Redis ● (reconnecting|down)/.test(d.frame()), 10_000)
        startRedis()
        await d.seen('(reconnected ', 10_000)
        const client = createClient({ url: `redis://127.0.0.1:${port}` })
        await client.connect()
        try {
          const alert = { id: 'anm_000000000000000r', keyId: 'key_0000000000000001', keyName: 'after-outage', type: 'multiple_ips', severity: 'low', observed: 6, threshold: 5, windowSeconds: 3600, detectedAt: new Date().toISOString() }
          await until('the alert after the outage', async () => {
            await client.publish(`${prefix}anomaly:alerts`, JSON.stringify(alert))
            return d.frame().includes('after-outage')
          })
        } finally {
          await client.close()
        }
      } finally {
        await d.close()
        await local.close()
      }
    })
  })
})
