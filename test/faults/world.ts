// What every fault scenario sets up and checks afterwards: a database of its own on the
// private PostgreSQL, keys made through the core, the environment a serve and the CLI get,
// and the exact accounting once the dust has settled — usage per key against the answers
// serve gave, and the audit rows against the changes made.
import { randomBytes } from 'node:crypto'

import { expect } from 'chai'
import postgres from 'postgres'

import { createKey } from '../../src/core/api-keys/create-key.js'
import { revokeKey } from '../../src/core/api-keys/change-key-state.js'
import type { Core } from '../../src/core/open-core.js'
import { openCore } from '../../src/core/open-core.js'
import { runJson } from '../helpers/cli.js'
import type { LoadKey, Tally } from './load.js'
import type { PrivatePostgres } from './private-servers.js'

export interface WorldKey extends LoadKey {
  id: string
}

export interface World {
  /** The environment of serve and of CLI runs: the private servers only. */
  env: Record<string, string>
  /** A core of the test's own on the private database (the "other process" that revokes). */
  core: Core
  /** A direct pool on the private database, for the checks. */
  sql: postgres.Sql
  keys: WorldKey[]
  victim: WorldKey
  /** Revoke the victim through the core; resolves with performance.now() once the change has committed. */
  revokeVictim(): Promise<number>
  close(): Promise<void>
}

/**
 * The knobs that keep a scenario's accounting exact: loopback sends every request, so its
 * failures must not lock it out (the lockout itself is tested elsewhere), and the anomaly
 * detectors must not react to a load they would rightly call unusual (their rows would join
 * the audit trail, and auto-disable is off by default anyway).
 */
const QUIET = {
  RATE_LIMIT_MAX_ATTEMPTS: '1000000',
  ANOMALY_MAX_REQUESTS_PER_MINUTE: '100000000',
  ANOMALY_MAX_ERROR_RATE: '1',
  ANOMALY_QUIET_HOURS: '00-00',
  MOMENTRY_TRUSTED_PROXIES: 'loopback',
}

export async function makeWorld(pg: PrivatePostgres, redisUrl: string, name: string, loadKeys = 3): Promise<World> {
  const database = `faults_${name}_${randomBytes(3).toString('hex')}`
  const databaseUrl = await pg.createDatabase(database)
  const env: Record<string, string> = {
    ...QUIET,
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    MOMENTRY_REDIS_PREFIX: `${database}:`,
  }
  const core = openCore({ env: { ...process.env, ...env }, actor: 'test:faults' })
  const keys: WorldKey[] = []
  for (let i = 0; i <= loadKeys; i++) {
    const issued = await createKey(core.ctx, { name: i < loadKeys ? `load-${i}` : 'victim', type: 'service' })
    keys.push({ label: i < loadKeys ? `load-${i}` : 'victim', secret: issued.secret, id: issued.key.id })
  }
  const victim = keys[keys.length - 1]!
  const sql = postgres(databaseUrl, { max: 2, onnotice: () => {} })
  return {
    env,
    core,
    sql,
    keys,
    victim,
    async revokeVictim() {
      await revokeKey(core.ctx, { id: victim.id, reason: 'revoked during a fault' })
      return performance.now()
    },
    async close() {
      await core.close()
      await sql.end({ timeout: 1 })
    },
  }
}

/**
 * After serve's final flush: each key's usage in PostgreSQL is exactly what serve answered —
 * ok_count the 200 valid:true answers, fail_count the 200 valid:false ones (the victim's
 * REVOKED refusals, also counted by code) — and the audit trail holds exactly one key.create
 * per key and one key.revoke for the victim, and verifies. Requests that got an error status
 * or no answer must have left no trace.
 */
export async function expectExactAccounting(world: World, tally: Tally): Promise<void> {
  const rows = await world.sql<{ key_id: string; ok: number; fail: number }[]>`
    select key_id, sum(ok_count)::int as ok, sum(fail_count)::int as fail from key_usage_minute group by key_id`
  const usage = new Map(rows.map((r) => [r.key_id, { ok: r.ok, fail: r.fail }]))
  const expected = new Map(world.keys.map((k) => [k.id, { ok: tally.decided(k.label, true), fail: tally.decided(k.label, false) }]))
  const got = new Map(world.keys.map((k) => [k.id, usage.get(k.id) ?? { ok: 0, fail: 0 }]))
  expect(Object.fromEntries(got), `usage in PostgreSQL vs answers (${JSON.stringify(tally.summary())})`).to.deep.equal(Object.fromEntries(expected))
  expect(rows.filter((r) => !expected.has(r.key_id)), 'usage of no known key').to.deep.equal([])
  const refusals = tally.answers.filter((a) => a.status === 200 && a.valid === false)
  expect(new Set(refusals.map((a) => `${a.label} ${a.code}`)), 'refusals other than the victim’s REVOKED').to.satisfy((s: Set<string>) => [...s].every((x) => x === 'victim REVOKED'))
  const [failures] = await world.sql<{ n: number }[]>`select coalesce(sum(count), 0)::int as n from validation_failure_minute where code = 'REVOKED' and key_id = ${world.victim.id}`
  expect(failures!.n, 'REVOKED refusals counted by code').to.equal(refusals.length)
  const [others] = await world.sql<{ n: number }[]>`select coalesce(sum(count), 0)::int as n from validation_failure_minute where not (code = 'REVOKED' and key_id = ${world.victim.id})`
  expect(others!.n, 'other failures counted').to.equal(0)

  const audit = await world.sql<{ action: string; key_id: string | null }[]>`select action, key_id from api_key_audit_log order by seq`
  expect(audit.map((r) => `${r.action} ${r.key_id}`)).to.deep.equal([...world.keys.map((k) => `key.create ${k.id}`), `key.revoke ${world.victim.id}`])
  const verified = await runJson(['audit', 'verify'], { env: world.env })
  expect(verified.code, verified.stdout + verified.stderr).to.equal(0)
}

/**
 * The promise of SPEC §5 as a client sees it: no answer accepting the victim came more than
 * 100 ms after its revocation committed (whenever its request was sent). Returns how many broke it.
 */
export function acceptedAfterRevocation(tally: Tally, committedAt: number): number {
  return tally.answers.filter((a) => a.label === 'victim' && a.valid === true && a.doneAt > committedAt + 100).length
}

/** Milliseconds from the commit to the last answer accepting the victim (negative: none after the commit). */
export function lastAcceptedMs(tally: Tally, committedAt: number): number {
  return Math.max(-Infinity, ...tally.answers.filter((a) => a.label === 'victim' && a.valid === true).map((a) => a.doneAt - committedAt))
}
