// `npm run bench [-- --quick] [-- --only NAME[,NAME]]`: the SPEC §14 measurements, each beside
// a baseline taken in the same run (these machines are noisy, so ratios, not absolute
// numbers, are the verdict). Uses its own database, Redis prefix and embedded data
// directories, and removes them at the end. Figures: see bench/figures/.
import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import postgres from 'postgres'

import { closeRedis, connectPostgres, connectRedis, createKey, loadConfig, migrate, ONE_SHOT_EFFECTS, openCore } from '../dist/index.js'
import * as anomaly from './figures/anomaly.js'
import * as cacheHit from './figures/cache-hit.js'
import * as cacheMiss from './figures/cache-miss.js'
import * as cliStart from './figures/cli-start.js'
import * as embedded from './figures/embedded.js'
import * as list from './figures/list.js'
import * as revocation from './figures/revocation.js'
import * as serve from './figures/serve.js'
import { adminUrl, BIN, dbName, dbUrl, env, prefix, redisUrl, runOnce, say } from './lib.js'

const FIGURES = [cacheHit, cacheMiss, list, serve, cliStart, embedded, revocation, anomaly]
const quick = process.argv.includes('--quick')
const onlyArg = process.argv.find((a, i) => process.argv[i - 1] === '--only' || a.startsWith('--only='))
const only = onlyArg ? onlyArg.replace(/^--only=/, '').split(',') : undefined
const unknown = only?.filter((n) => !FIGURES.some((f) => f.name === n))
if (unknown?.length) {
  say(`unknown figure ${unknown.join(', ')}; figures: ${FIGURES.map((f) => f.name).join(', ')}`)
  process.exit(2)
}

const results = []
function record(name, value, unit, baseline, baselineLabel, verdict, bar, diagnostic) {
  results.push({ name, value, unit, baseline, baselineLabel, verdict, bar, ...(diagnostic ? { diagnostic } : {}) })
  say(`  ${verdict ? 'PASS' : 'FAIL'}  ${name}: ${value} ${unit}  |  ${baselineLabel}: ${baseline}  |  bar: ${bar}`)
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
    const newCore = () => openCore({ config: loadConfig(env), sql, redis: async () => redis, actor: 'bench', effects: ONE_SHOT_EFFECTS })
    const setup = newCore().ctx
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
      newCore,
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
    for (const figure of FIGURES) if (!only || only.includes(figure.name)) await figure.run(b)
  } finally {
    for (const dir of embeddedDirs) {
      await runOnce([process.execPath, BIN, 'db', 'stop'], '', { DATABASE_URL: '', MOMENTRY_DATA_DIR: dir })
      await rm(dir, { recursive: true, force: true })
    }
    await closeRedis(redis)
    await sql.end({ timeout: 1 })
    for (const name of [dbName, ...extraDatabases]) await admin`drop database if exists ${admin(name)} with (force)`
    await admin.end()
    const cleaner = await connectRedis(redisUrl, { debug() {}, info() {}, warn() {}, error() {} })
    for await (const batch of cleaner.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) if (batch.length) await cleaner.del(batch)
    await closeRedis(cleaner)
  }
  mkdirSync('.bench-out', { recursive: true })
  writeFileSync('.bench-out/results.json', JSON.stringify({ at: new Date().toISOString(), quick, only: only ?? null, results }, null, 2))
  const failed = results.filter((r) => !r.verdict)
  process.stdout.write(`\nbench: ${results.length - failed.length} passed, ${failed.length} failed\n`)
  process.exitCode = failed.length ? 1 : 0
}

await main()
