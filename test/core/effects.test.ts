import type { Server } from 'node:http'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

import { createClient } from '@redis/client'
import { expect } from 'chai'

import { alertsOnAnomaly } from '../../src/core/anomalies/alert-publisher.js'
import type { AnomalyAlert } from '../../src/core/anomalies/anomaly-view.js'
import { autoDisableOnAnomaly } from '../../src/core/anomalies/auto-disable.js'
import { detectOnFlush } from '../../src/core/anomalies/detect-on-flush.js'
import { revokeKey } from '../../src/core/api-keys/change-key-state.js'
import { createKey } from '../../src/core/api-keys/create-key.js'
import { hashKeyBase64 } from '../../src/core/api-keys/key-format.js'
import { announceRotationsDue } from '../../src/core/api-keys/rotation-notices.js'
import { addToBlacklist } from '../../src/core/blacklist/blacklist.js'
import { PG_CHANNELS, redisAlertChannel } from '../../src/core/channels.js'
import { fixedClock } from '../../src/core/clock.js'
import { connectPostgres } from '../../src/core/db/connect.js'
import { ONE_SHOT_EFFECTS } from '../../src/core/effects.js'
import { ConfigError } from '../../src/core/errors.js'
import type { MomentryEvent } from '../../src/core/events.js'
import type { Logger } from '../../src/core/log.js'
import { silentLogger } from '../../src/core/log.js'
import { openCore } from '../../src/core/open-core.js'
import { broadcastChanges } from '../../src/core/validation/broadcast.js'
import { auditLockouts } from '../../src/core/validation/lockout-audit.js'
import { mirrorValidationState } from '../../src/core/validation/mirrors.js'
import { verifyKey, verifyKeyInMemory } from '../../src/core/validation/verify-key.js'
import { flushUsage } from '../../src/core/usage/flush-usage.js'
import { drainOutbox } from '../../src/core/webhooks/drain-outbox.js'
import { queueWebhooks } from '../../src/core/webhooks/queue-webhooks.js'
import { addWebhook } from '../../src/core/webhooks/webhooks.js'
import { auditRows, openTestSql, testCore, truncateAll } from '../helpers/db.js'

const prefix = process.env.MOMENTRY_REDIS_PREFIX!

/** A receiver that answers 200 and keeps each body. */
function receiver(): Promise<{ server: Server; url: string; got: string[] }> {
  const got: string[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      got.push(body)
      res.end()
    })
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got })))
}

const until = async (what: string, ok: () => boolean | Promise<boolean>, ms = 3000) => {
  const end = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** A logger that keeps every line, as `level: message`. */
const recordingLog = () => {
  const lines: string[] = []
  const keep = (level: string) => (m: string) => void lines.push(`${level}: ${m}`)
  const log: Logger = { debug: keep('debug'), info: keep('info'), warn: keep('warn'), error: keep('error') }
  return { lines, log }
}

const alertFor = (keyId: string, severity: AnomalyAlert['severity']): AnomalyAlert => ({
  id: 'anm_0000000000000001',
  keyId,
  keyName: 'k',
  type: 'high_request_rate',
  severity,
  observed: 99,
  threshold: 10,
  windowSeconds: 60,
  detectedAt: new Date().toISOString(),
})

describe('side effects (each module on its own, real PostgreSQL and Redis)', function () {
  this.timeout(20_000)
  const sql = openTestSql()
  let subscriber: ReturnType<typeof createClient>
  const servers: Server[] = []
  before(async () => {
    subscriber = createClient({ url: process.env.REDIS_URL })
    await subscriber.connect()
  })
  beforeEach(() => truncateAll(sql))
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))))
    await subscriber.unsubscribe()
  })
  after(async () => {
    await subscriber.close()
    await sql.end()
  })

  /** The LISTEN connections on the test database (the mirrors' and any other listener's). */
  const listenerCount = () => sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = 'momentry-listen'`.then(([r]) => r!.n as number)
  /** Kill them as a network or a restart would. */
  const killListeners = () => sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = 'momentry-listen'`

  /** A core with no side effect attached, so each test attaches only the one it tests. */
  const bare = (env: Record<string, string> = {}, redis = true) => testCore(sql, { effects: [], redis, env })

  describe('broadcast', () => {
    it('given a revoke, then the key leaves this cache at once, and the change\'s own NOTIFY carries its id to other processes', async () => {
      const core = bare()
      const off = broadcastChanges(core.ctx)
      const heard: string[] = []
      const listening = await sql.listen(PG_CHANNELS.keyChanged, (id) => void heard.push(id))
      try {
        const { secret, key } = await createKey(core.ctx, { name: 'b', type: 'service' })
        await verifyKey(core.ctx, { key: secret })
        expect(core.ctx.validation.cache.find(hashKeyBase64(secret))).to.not.equal(undefined)
        await revokeKey(core.ctx, { id: key.id })
        await core.ctx.bus.drain()
        expect(core.ctx.validation.cache.find(hashKeyBase64(secret))).to.equal(undefined)
        await until('the notification', () => heard.length > 0)
        expect(heard).to.deep.equal([key.id])
      } finally {
        await listening.unlisten()
        await off()
        await core.close()
      }
    })

    it('given a lockout, then it is announced on the lockout NOTIFY channel', async () => {
      const core = bare()
      const off = broadcastChanges(core.ctx)
      const heard: string[] = []
      const listening = await sql.listen(PG_CHANNELS.lockout, (m) => void heard.push(m))
      try {
        core.ctx.bus.emit({ type: 'ip.locked_out', ip: '203.0.113.8', attempts: 5, retryAfterSeconds: 900, at: new Date().toISOString() })
        await core.ctx.bus.drain()
        await until('the notification', () => heard.length > 0)
        expect(JSON.parse(heard[0]!)).to.deep.equal({ ip: '203.0.113.8', retryAfterSeconds: 900 })
      } finally {
        await listening.unlisten()
        await off()
        await core.close()
      }
    })

    it('given PostgreSQL unreachable, then a lockout that cannot be announced is logged as such and nothing throws', async () => {
      const { lines, log } = recordingLog()
      const unreachable = connectPostgres('postgres://postgres@127.0.0.1:1/momentry_nowhere')
      const core = testCore(unreachable, { effects: [], log })
      const off = broadcastChanges(core.ctx)
      try {
        core.ctx.bus.emit({ type: 'ip.locked_out', ip: '203.0.113.77', attempts: 5, retryAfterSeconds: 900, at: new Date().toISOString() })
        await core.ctx.bus.drain()
        expect(lines.filter((l) => l.startsWith('warn:'))).to.have.length(1)
        expect(lines.find((l) => l.startsWith('warn:'))).to.match(/^warn: could not tell other processes of the lockout of 203\.0\.113\.77 \(they re-read lockouts within 30 s\) over NOTIFY \(.*ECONNREFUSED/)
      } finally {
        await off()
        await core.close()
        await unreachable.end()
      }
    })

    it('given no Redis configured, then a blacklist change is stored and its NOTIFY still reaches other processes', async () => {
      const core = bare({ REDIS_URL: '' }, false)
      const off = broadcastChanges(core.ctx)
      const heard: string[] = []
      const listening = await sql.listen(PG_CHANNELS.blacklistChanged, (network) => void heard.push(network))
      try {
        await addToBlacklist(core.ctx, { target: '198.51.100.9' })
        await core.ctx.bus.drain()
        const rows = await sql`select network::text as network from ip_blacklist`
        expect(rows.map((r) => r.network)).to.deep.equal(['198.51.100.9/32'])
        await until('the notification', () => heard.length > 0)
        expect(heard).to.deep.equal(['198.51.100.9/32'])
      } finally {
        await listening.unlisten()
        await off()
        await core.close()
      }
    })
  })

  describe('lockout-audit', () => {
    it('given an ip.locked_out event, then one ip.lockout audit row with its attempts, by the context actor', async () => {
      const core = bare()
      const off = auditLockouts(core.ctx)
      try {
        core.ctx.bus.emit({ type: 'ip.locked_out', ip: '203.0.113.4', attempts: 5, retryAfterSeconds: 900, at: new Date().toISOString() })
        await core.ctx.bus.drain()
        const rows = await auditRows(sql)
        expect(rows.map((r) => ({ action: r.action, actor: r.actor, ip: r.ip, details: r.details }))).to.deep.equal([{ action: 'ip.lockout', actor: 'test:runner', ip: '203.0.113.4', details: { attempts: 5, retryAfterSeconds: 900 } }])
      } finally {
        await off()
        await core.close()
      }
    })
  })

  describe('webhooks', () => {
    it('given a subscribed webhook, then an event is queued in the outbox and delivered when the effect is detached', async () => {
      const r = await receiver()
      servers.push(r.server)
      const core = bare()
      await addWebhook(core.ctx, { url: r.url, events: ['key.revoked'] })
      const off = queueWebhooks(core.ctx)
      core.ctx.bus.emit({ type: 'key.revoked', keyId: 'key_0000000000000000', reason: null, at: new Date().toISOString() })
      core.ctx.bus.emit({ type: 'key.enabled', keyId: 'key_0000000000000000', at: new Date().toISOString() }) // no subscriber
      await core.ctx.bus.drain()
      const [pending] = await sql`select count(*)::int as n from webhook_deliveries where status = 'pending'`
      expect(pending!.n).to.equal(1)
      expect(r.got).to.deep.equal([])
      await off()
      expect(r.got.map((b) => JSON.parse(b).type)).to.deep.equal(['key.revoked'])
      await core.close()
    })

    it('given a due delivery in the outbox, then the drain service sends it without anyone asking', async () => {
      const r = await receiver()
      servers.push(r.server)
      const core = bare()
      await addWebhook(core.ctx, { url: r.url, events: ['key.revoked'] })
      const queue = queueWebhooks(core.ctx)
      core.ctx.bus.emit({ type: 'key.revoked', keyId: 'key_0000000000000001', reason: null, at: new Date().toISOString() })
      await core.ctx.bus.drain()
      const drain = drainOutbox(core.ctx, 50)
      try {
        await until('the delivery', () => r.got.length === 1)
      } finally {
        await drain()
        await queue() // nothing left of its own to send
        await core.close()
      }
      expect(r.got).to.have.length(1)
    })
  })

  describe('anomaly responses', () => {
    it('given a detection, then it goes out on the Redis alert channel and over NOTIFY, and is kept as per-key state', async () => {
      const core = bare()
      const off = alertsOnAnomaly(core.ctx)
      try {
        const heard: string[] = []
        await subscriber.subscribe(redisAlertChannel(prefix), (m) => void heard.push(m))
        const notified: string[] = []
        const listening = await sql.listen(PG_CHANNELS.alerts, (m) => void notified.push(m))
        const alert = alertFor('key_00000000000000a1', 'high')
        core.ctx.bus.emit({ type: 'anomaly.detected', alert, created: true, previousSeverity: null, at: alert.detectedAt })
        await core.ctx.bus.drain()
        await until('the alert', () => heard.length > 0)
        expect(JSON.parse(heard[0]!)).to.deep.equal(alert)
        const state = await subscriber.duplicate().connect().then(async (c) => {
          const v = await c.hGet(`${prefix}anomaly:state:${alert.keyId}`, 'high_request_rate')
          await c.close()
          return v
        })
        expect(JSON.parse(state!)).to.deep.equal(alert)
        await until('the NOTIFY', () => notified.length > 0)
        expect(JSON.parse(notified[0]!)).to.deep.equal(alert)
        await listening.unlisten()
      } finally {
        await off()
        await core.close()
      }
    })

    it('given ANOMALY_AUTO_DISABLE=critical, then a critical detection disables the key as momentry:anomaly and a high one does not', async () => {
      const core = bare({ ANOMALY_AUTO_DISABLE: 'critical' })
      const off = autoDisableOnAnomaly(core.ctx)
      try {
        const { key } = await createKey(core.ctx, { name: 'hot', type: 'service' })
        const { key: other } = await createKey(core.ctx, { name: 'warm', type: 'service' })
        for (const [id, severity] of [[key.id, 'critical'], [other.id, 'high']] as const) {
          const alert = alertFor(id, severity)
          core.ctx.bus.emit({ type: 'anomaly.detected', alert, created: true, previousSeverity: null, at: alert.detectedAt })
        }
        await core.ctx.bus.drain()
        const rows = await sql`select key_id, enabled, disabled_reason from api_keys order by id`
        expect(rows.map((r) => [r.key_id, r.enabled])).to.deep.equal([[key.id, false], [other.id, true]])
        expect(rows[0]!.disabled_reason).to.include('auto-disabled: critical high_request_rate')
        const [audit] = await sql`select actor from api_key_audit_log where action = 'key.disable'`
        expect(audit!.actor).to.equal('momentry:anomaly')
      } finally {
        await off()
        await core.close()
      }
    })

    it('given usage flushed past the per-minute maximum, then detection raises one anomaly.detected for the key', async () => {
      const clock = fixedClock('2026-11-02T12:00:00Z')
      const core = testCore(sql, { effects: [], redis: true, clock, env: { ANOMALY_MAX_REQUESTS_PER_MINUTE: '3', ANOMALY_QUIET_HOURS: '00-00' } })
      const off = detectOnFlush(core.ctx)
      try {
        const { key } = await createKey(core.ctx, { name: 'busy', type: 'service' })
        const seen: MomentryEvent[] = []
        core.ctx.bus.on('anomaly.detected', (e) => void seen.push(e))
        for (let i = 0; i < 4; i++) core.ctx.validation.usage.record({ keyId: key.id, ok: true, atMs: clock.ms() })
        await core.ctx.validation.usage.flush()
        await core.ctx.bus.drain()
        expect(seen.map((e) => e.type === 'anomaly.detected' && [e.alert.keyId, e.alert.type, e.alert.observed])).to.deep.equal([[key.id, 'high_request_rate', 4]])
      } finally {
        await off()
        await core.close()
      }
    })
  })

  describe('services', () => {
    it('given the mirrors service, then a blacklisted IP is refused from memory until it is disposed, after which the runtime defers again', async () => {
      const core = bare()
      const { secret } = await createKey(core.ctx, { name: 'm', type: 'service' })
      await addToBlacklist(core.ctx, { target: '198.51.100.0/24' })
      await verifyKey(core.ctx, { key: secret, ip: '192.0.2.1' })
      expect(verifyKeyInMemory(core.ctx, { key: secret, ip: '198.51.100.5' }), 'not live yet').to.equal(undefined)
      const off = await mirrorValidationState(core.ctx)
      expect(core.ctx.validation.longRunning).to.equal(true)
      await verifyKey(core.ctx, { key: secret, ip: '192.0.2.1' }) // the cache starts afresh when the mirrors do
      expect(verifyKeyInMemory(core.ctx, { key: secret, ip: '198.51.100.5' })).to.deep.equal({ valid: false, code: 'BLACKLISTED' })
      expect(verifyKeyInMemory(core.ctx, { key: secret, ip: '192.0.2.1' })).to.include({ valid: true })
      await off()
      expect(core.ctx.validation.longRunning).to.equal(false)
      expect(verifyKeyInMemory(core.ctx, { key: secret, ip: '198.51.100.5' })).to.equal(undefined)
      await core.close()
    })

    it('given the mirrors service, then a lockout another process announces is applied from memory, and a revoke made elsewhere drops the key', async () => {
      const core = bare()
      const off = await mirrorValidationState(core.ctx)
      try {
        const { secret, key } = await createKey(core.ctx, { name: 'l', type: 'service' })
        await verifyKey(core.ctx, { key: secret, ip: '203.0.113.9' })
        await sql`select pg_notify(${PG_CHANNELS.lockout}, ${JSON.stringify({ ip: '203.0.113.9', retryAfterSeconds: 60 })})`
        await until('the lockout', () => verifyKeyInMemory(core.ctx, { key: secret, ip: '203.0.113.9' })?.valid === false)
        expect(verifyKeyInMemory(core.ctx, { key: secret, ip: '203.0.113.9' })).to.deep.include({ valid: false, code: 'RATE_LIMITED' })
        expect(verifyKeyInMemory(core.ctx, { key: secret, ip: '192.0.2.9' })).to.include({ valid: true })
        await sql`update api_keys set revoked_at = now() where key_id = ${key.id}` // another process, plain SQL even
        await until('the invalidation', () => verifyKeyInMemory(core.ctx, { key: secret, ip: '192.0.2.9' }) === undefined)
        expect(await verifyKey(core.ctx, { key: secret, ip: '192.0.2.9' })).to.deep.equal({ valid: false, code: 'REVOKED' })
      } finally {
        await off()
        await core.close()
      }
    })

    it('given the mirrors service, when its LISTEN connection is killed, then cached keys are re-read until it is back, and the cache starts afresh then', async () => {
      const reads: string[] = []
      const counted = openTestSql({ onQuery: (q) => void (/from api_keys where key_hash/.test(q) && reads.push(q)) })
      const core = testCore(counted, { effects: [], redis: true })
      // A slow reconnect, so that the answers below are given while nothing can be heard.
      const off = await mirrorValidationState(core.ctx, { retryMs: 1500 })
      try {
        const { secret, key } = await createKey(core.ctx, { name: 'x', type: 'service' })
        await verifyKey(core.ctx, { key: secret, ip: '192.0.2.10' })
        expect(verifyKeyInMemory(core.ctx, { key: secret, ip: '192.0.2.10' })).to.include({ valid: true })
        const readsWhileUp = reads.length
        await killListeners()
        await until('the listener to drop', () => core.ctx.validation.listening === false)
        expect(core.ctx.validation.cache.find(hashKeyBase64(secret)), 'still cached').to.not.equal(undefined)
        expect(verifyKeyInMemory(core.ctx, { key: secret, ip: '192.0.2.10' }), 'not from memory while deaf').to.equal(undefined)
        // The cached key, re-read on each validation.
        expect(await verifyKey(core.ctx, { key: secret, ip: '192.0.2.10' })).to.include({ valid: true })
        expect(reads.length).to.equal(readsWhileUp + 1)
        // Revoked with the trigger's NOTIFY switched off: only a re-read can see it.
        await sql.begin(async (tx) => {
          await tx`alter table api_keys disable trigger api_keys_notify_changed`
          await tx`update api_keys set revoked_at = now() where key_id = ${key.id}`
          await tx`alter table api_keys enable trigger api_keys_notify_changed`
        })
        expect(await verifyKey(core.ctx, { key: secret, ip: '192.0.2.10' })).to.deep.equal({ valid: false, code: 'REVOKED' })
        expect(reads.length).to.equal(readsWhileUp + 2)
        expect(core.ctx.validation.listening, 'decided while the connection was still down').to.equal(false)
        await until('the listener to come back', () => core.ctx.validation.longRunning)
        expect(core.ctx.validation.listening).to.equal(true)
        expect(core.ctx.validation.cache.find(hashKeyBase64(secret))).to.equal(undefined)
      } finally {
        await off()
        await core.close()
        await counted.end()
      }
    })

    it('given the LISTEN connection drops again while the mirrors reload, then that reload does not go live; the next one does', async () => {
      const { lines, log } = recordingLog()
      const core = testCore(sql, { effects: [], redis: true, log })
      const off = await mirrorValidationState(core.ctx, { retryMs: 300 })
      const locker = await sql.reserve()
      try {
        // The reload after the reconnect waits on this lock, so the second drop comes in the middle of it.
        await locker`begin`
        await locker`lock table ip_blacklist in access exclusive mode`
        await killListeners()
        await until('the reconnect', () => lines.some((l) => l.startsWith('info: PostgreSQL LISTEN connection restored')))
        await until('the reload to wait on the lock', async () => (await sql`select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`).length > 0)
        await killListeners()
        await until('the second drop', () => lines.filter((l) => l.startsWith("warn: cannot hear other processes' changes")).length === 2)
        await locker`commit`
        await until('the reload to finish', () => lines.some((l) => l.includes('mirrors reloaded, but not used')))
        expect(core.ctx.validation.longRunning).to.equal(false)
        expect(core.ctx.validation.listening).to.equal(false)
        await until('the next reconnect and reload', () => core.ctx.validation.longRunning)
        expect(core.ctx.validation.listening).to.equal(true)
      } finally {
        await locker`rollback`.catch(() => {})
        locker.release()
        await off()
        await core.close()
      }
    })

    it('given the reload after a reconnect fails, then it is tried again until it works, and only then decides from memory', async () => {
      const { lines, log } = recordingLog()
      const core = testCore(sql, { effects: [], redis: true, log })
      const off = await mirrorValidationState(core.ctx, { retryMs: 100 })
      try {
        await sql`alter table ip_blacklist rename to ip_blacklist_away`
        await killListeners()
        const failed = () => lines.filter((l) => l.startsWith('warn: reloading the blacklist and lockouts failed'))
        await until('two failed reloads', () => failed().length >= 2)
        expect(failed()[0]).to.include('(trying again in 100 ms)')
        expect(failed()[1]).to.include('(trying again in 200 ms)')
        expect(core.ctx.validation.longRunning).to.equal(false)
        expect(core.ctx.validation.listening).to.equal(false)
        await sql`alter table ip_blacklist_away rename to ip_blacklist`
        await until('a reload that works', () => core.ctx.validation.longRunning)
        expect(core.ctx.validation.listening).to.equal(true)
      } finally {
        await sql`alter table if exists ip_blacklist_away rename to ip_blacklist`
        await off()
        await core.close()
      }
    })

    it('given the first load fails, then the start fails with one clear error and leaves no LISTEN connection behind', async () => {
      const core = testCore(sql, { effects: [], redis: true })
      const unhandled: unknown[] = []
      const onUnhandled = (reason: unknown) => void unhandled.push(reason)
      process.on('unhandledRejection', onUnhandled)
      try {
        await sql`alter table ip_blacklist rename to ip_blacklist_away`
        const error = await mirrorValidationState(core.ctx, { retryMs: 50 }).then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(error).to.be.instanceOf(ConfigError)
        expect((error as ConfigError).reason).to.equal('the database is missing momentry tables or columns (migrations not applied)')
        await until('no LISTEN connection', async () => (await listenerCount()) === 0)
        expect(core.ctx.validation.longRunning).to.equal(false)
        expect(core.ctx.validation.listening).to.equal(undefined)
        // Longer than a retry: a listener left running would have reconnected by now.
        await new Promise((resolve) => setTimeout(resolve, 150))
        expect(await listenerCount()).to.equal(0)
        expect(unhandled).to.deep.equal([])
      } finally {
        process.off('unhandledRejection', onUnhandled)
        await sql`alter table if exists ip_blacklist_away rename to ip_blacklist`
        await core.close()
      }
    })

    it('given the usage-flush service, then buffered usage reaches PostgreSQL without a call to flush', async () => {
      const core = bare()
      const { key } = await createKey(core.ctx, { name: 'u', type: 'service' })
      const off = flushUsage(core.ctx, 50)
      try {
        core.ctx.validation.usage.record({ keyId: key.id, ok: true, atMs: Date.now() })
        await until('the row', async () => (await sql`select 1 from key_usage_minute where key_id = ${key.id}`).length === 1)
      } finally {
        await off()
        await core.close()
      }
    })

    it('given a key due for rotation within the notice, then the rotation-notices service announces it at start, once', async () => {
      const clock = fixedClock('2026-11-01T00:00:00Z')
      const core = testCore(sql, { effects: [], clock, env: { MOMENTRY_ROTATION_NOTICE: '7d' } })
      const { key } = await createKey(core.ctx, { name: 'r', type: 'service', rotateEverySeconds: 86_400 })
      const due: string[] = []
      core.ctx.bus.on('key.rotation_due', (e) => void due.push(e.keyId))
      const off = announceRotationsDue(core.ctx, 60_000)
      await off()
      await core.ctx.bus.drain()
      expect(due).to.deep.equal([key.id])
      await core.close()
    })
  })

  describe('openCore', () => {
    it('given a one-shot core, then it has the one-shot reactions only: a usage flush at close runs no detection and leaves no timer', async () => {
      const core = openCore({ env: { ...process.env, REDIS_URL: '' }, sql, log: silentLogger, effects: ONE_SHOT_EFFECTS, actor: 'test:oneshot' })
      const { key } = await createKey(core.ctx, { name: 'o', type: 'service' })
      const seen: string[] = []
      core.ctx.bus.on('*', (e) => void seen.push(e.type))
      for (let i = 0; i < 3; i++) core.ctx.validation.usage.record({ keyId: key.id, ok: true, atMs: Date.now() })
      await core.close()
      expect(seen).to.deep.equal(['usage.flushed'])
      expect(core.ctx.validation.longRunning).to.equal(false)
      const [row] = await sql`select ok_count from key_usage_minute where key_id = ${key.id}`
      expect(row!.ok_count).to.equal(3)
      expect(await sql`select 1 from api_key_anomalies`).to.have.length(0)
    })

    it('given a service named among the reactions to attach at open, then it is refused', () => {
      expect(() => openCore({ env: process.env, sql, effects: ['mirrors'] })).to.throw(/mirrors is a service/)
    })

    it('given start() twice with the same effects, then each is attached once (one delivery per event)', async () => {
      const r = await receiver()
      servers.push(r.server)
      const core = openCore({ env: process.env, sql, log: silentLogger, effects: [] })
      await addWebhook(core.ctx, { url: r.url, events: ['key.created'] })
      await Promise.all([core.start(['webhooks']), core.start(['webhooks'])])
      await createKey(core.ctx, { name: 'twice', type: 'service' })
      await core.close()
      expect(r.got).to.have.length(1)
    })
  })
})
