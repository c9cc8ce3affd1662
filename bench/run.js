// `npm run bench [-- --quick] [-- --only NAME[,NAME]] [-- --baseline DIR]`: the SPEC §14
// measurements, each beside a baseline taken in the same run (these machines are noisy, so
// ratios, not absolute numbers, are the verdict). With --baseline, every figure also runs
// against another built checkout of momentry (e.g. a `git worktree` of the previous commit,
// on the same node_modules), right after ours, for a before/after in one run. Uses its own
// database, Redis prefix and embedded data directories, and removes them at the end.
// Figures: see bench/figures/.
import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

import postgres from 'postgres'

import * as ours from '../dist/index.js'
import * as anomaly from './figures/anomaly.js'
import * as audit from './figures/audit.js'
import * as cacheHit from './figures/cache-hit.js'
import * as cacheMiss from './figures/cache-miss.js'
import * as cliStart from './figures/cli-start.js'
import * as embedded from './figures/embedded.js'
import * as list from './figures/list.js'
import * as report from './figures/report.js'
import * as revocation from './figures/revocation.js'
import * as scan from './figures/scan.js'
import * as serve from './figures/serve.js'
import * as serveLatency from './figures/serve-latency.js'
import * as soak from './figures/soak.js'
import { adminUrl, BIN, dataDir, dbName, dbUrl, env, prefix, redisUrl, runOnce, say } from './lib.js'

const FIGURES = [cacheHit, cacheMiss, list, serve, serveLatency, cliStart, embedded, revocation, anomaly, audit, report, scan, soak]
const { closeRedis, connectPostgres, connectRedis, createKey, loadConfig, migrate, ONE_SHOT_EFFECTS, openCore } = ours
const quick = process.argv.includes('--quick')
const baselineArg = process.argv.find((a, i) => process.argv[i - 1] === '--baseline' || a.startsWith('--baseline='))
const baselineDir = baselineArg && resolve(baselineArg.replace(/^--baseline=/, ''))
const onlyArg = process.argv.find((a, i) => process.argv[i - 1] === '--only' || a.startsWith('--only='))
const only = onlyArg ? onlyArg.replace(/^--only=/, '').split(',') : undefined
const unknown = only?.filter((n) => !FIGURES.some((f) => f.name === n))
if (unknown?.length) {
  say(`unknown figure ${unknown.join(', ')}; figures: ${FIGURES.map((f) => f.name).join(', ')}`)
  process.exit(2)
}

const results = []
let checkout = 'ours'
function record(name, value, unit, baseline, baselineLabel, verdict, bar, diagnostic) {
  results.push({ checkout, name, value, unit, baseline, baselineLabel, verdict, bar, ...(diagnostic ? { diagnostic } : {}) })
  say(`  ${checkout === 'ours' ? (verdict ? 'PASS' : 'FAIL') : 'BASE'}  ${checkout === 'ours' ? '' : '[baseline] '}${name}: ${value} ${unit}  |  ${baselineLabel}: ${baseline}  |  bar: ${bar}`)
}

/**
 * A core of `lib` on the bench's connections: this checkout's `openCore`, or, for a baseline
 * built before it existed, the same thing from `createContext` (its runtime started by
 * `start`, stopped by `close`).
 */
function coreOf(lib, sql, redis) {
  const config = lib.loadConfig(env)
  if (lib.openCore) return lib.openCore({ config, sql, redis: async () => redis, actor: 'bench', effects: lib.ONE_SHOT_EFFECTS })
  const ctx = lib.createContext({ config, sql, redis: async () => redis, actor: 'bench' })
  return { ctx, start: () => ctx.validation.start(), close: () => ctx.validation.close() }
}

async function main() {
  say(`momentry bench — database ${dbName}, Redis prefix ${prefix}${quick ? ' (quick)' : ''}${only ? `, only ${only.join(', ')}` : ''}`)
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} })
  await admin`create database ${admin(dbName)}`
  const sql = connectPostgres(dbUrl, { max: 8 })
  const redis = await connectRedis(redisUrl, { debug() {}, info() {}, warn: say, error: say })
  const extraDatabases = []
  const embeddedDirs = []
  try {
    await migrate(sql)
    const setup = openCore({ config: loadConfig(env), sql, redis: async () => redis, actor: 'bench', effects: ONE_SHOT_EFFECTS }).ctx
    const SAMPLE = quick ? 300 : 1000
    const TOTAL = quick ? 100_000 : 1_000_000
    say(`creating ${SAMPLE} keys…`)
    const keys = []
    for (let i = 0; i < SAMPLE; i++) keys.push((await createKey(setup, { name: `bench-${i}`, type: 'service', scopes: ['bench'] })).secret)
    let filled = false
    const b = {
      quick,
      sql,
      redis,
      setup,
      keys,
      total: TOTAL,
      say,
      record,
      lib: ours,
      bin: BIN,
      newCore: () => coreOf(ours, sql, redis),
      /** Fill api_keys to TOTAL rows (once). */
      async fill() {
        if (filled) return
        filled = true
        await sql`
          insert into api_keys (key_id, key_hash, key_stub, name, key_type, created_at, created_by)
          select 'key_' || substr(md5(g::text || ${dbName}), 1, 16), decode(md5(g::text) || md5(g::text || 'x'), 'hex'),
                 'mtry_svc_fil', 'filler', 'service', now() - (g || ' seconds')::interval, 'bench'
          from generate_series(1, ${TOTAL - SAMPLE}) g`
      },
      /** A second, migrated, empty database; its URL. */
      async emptyDatabase() {
        const name = `${dbName}_empty`
        if (!extraDatabases.includes(name)) {
          await admin`create database ${admin(name)}`
          extraDatabases.push(name)
          const s = connectPostgres(Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString(), { max: 1 })
          await migrate(s)
          await s.end()
        }
        return Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString()
      },
      /** A database of its own, migrated and filled once by `fill(sql)`; its URL. */
      async reportDatabase(fill) {
        const name = `${dbName}_report`
        const url = Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString()
        if (!extraDatabases.includes(name)) {
          await admin`create database ${admin(name)}`
          extraDatabases.push(name)
          const s = connectPostgres(url, { max: 1 })
          try {
            await migrate(s)
            await fill(s)
            await s`vacuum analyze`
          } finally {
            await s.end()
          }
        }
        return url
      },
      /** An embedded data directory (no DATABASE_URL); `fresh`: not started yet. */
      async embedded(options = {}) {
        const dir = await mkdtemp(join(tmpdir(), 'mtry-bench-'))
        embeddedDirs.push(dir)
        const e = { DATABASE_URL: '', MOMENTRY_DATA_DIR: dir }
        const handle = {
          env: e,
          dir,
          async key() {
            const r = await new Promise((resolve) => {
              const child = spawn(process.execPath, [BIN, 'api-key', 'create', '--name', 'bench', '--type', 'service', '--json'], { env: { ...env, ...e }, stdio: ['ignore', 'pipe', 'ignore'] })
              let out = ''
              child.stdout.on('data', (d) => (out += d))
              child.once('exit', () => resolve(JSON.parse(out)))
            })
            return r.secret
          },
          async remove() {
            await runOnce([process.execPath, BIN, 'db', 'stop'], '', e)
            await rm(dir, { recursive: true, force: true })
          },
        }
        if (!options.fresh) await runOnce([process.execPath, BIN, 'db', 'start'], '', e)
        return handle
      },
    }
    const baseline = baselineDir && {
      ...b,
      lib: await import(join(baselineDir, 'dist', 'index.js')),
      bin: join(baselineDir, 'bin', 'run.js'),
      baseline: true,
    }
    if (baseline) baseline.newCore = () => coreOf(baseline.lib, sql, redis)
    // With a baseline, the two take turns going first, figure by figure: what runs second finds
    // PostgreSQL's buffers and the machine warmer.
    let turn = 0
    for (const figure of FIGURES) {
      if (only ? !only.includes(figure.name) : figure.onlyWhenNamed) continue
      const runs = [['ours', b], ...(baseline && figure.baseline !== false ? [['baseline', baseline]] : [])]
      if (turn++ % 2 && runs.length === 2) runs.reverse()
      for (const [which, ctx] of runs) {
        checkout = which
        if (which === 'ours') {
          await figure.run(ctx)
          continue
        }
        // An older checkout may not run on this schema (e.g. its audit insert predates the
        // chain): say so and go on, rather than losing the figures still to come.
        await figure.run(ctx).catch((error) => say(`  BASE  [baseline] ${figure.name}: not measured (${String(error.message ?? error).split('\n')[0].slice(0, 160)})`))
      }
    }
  } finally {
    for (const dir of embeddedDirs) {
      await runOnce([process.execPath, BIN, 'db', 'stop'], '', { DATABASE_URL: '', MOMENTRY_DATA_DIR: dir })
      await rm(dir, { recursive: true, force: true })
    }
    await closeRedis(redis)
    await sql.end({ timeout: 1 })
    await rm(dataDir, { recursive: true, force: true })
    for (const name of [dbName, ...extraDatabases]) await admin`drop database if exists ${admin(name)} with (force)`
    await admin.end()
    const cleaner = await connectRedis(redisUrl, { debug() {}, info() {}, warn() {}, error() {} })
    for await (const batch of cleaner.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) if (batch.length) await cleaner.del(batch)
    await closeRedis(cleaner)
  }
  mkdirSync('.bench-out', { recursive: true })
  writeFileSync('.bench-out/results.json', JSON.stringify({ at: new Date().toISOString(), quick, only: only ?? null, baseline: baselineDir ?? null, results }, null, 2))
  const failed = results.filter((r) => r.checkout === 'ours' && !r.verdict)
  const counted = results.filter((r) => r.checkout === 'ours').length
  process.stdout.write(`\nbench: ${counted - failed.length} passed, ${failed.length} failed\n`)
  if (baselineDir) {
    process.stdout.write(`\nbefore/after (ours vs ${baselineDir}):\n`)
    for (const r of results.filter((x) => x.checkout === 'ours')) {
      const base = results.find((x) => x.checkout === 'baseline' && x.name === r.name)
      if (base) process.stdout.write(`  ${r.name}: ${r.value} ${r.unit.split(' (')[0]}  |  baseline: ${base.value}\n`)
    }
  }
  process.exitCode = failed.length ? 1 : 0
}

await main()
