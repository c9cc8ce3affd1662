// One database, one Redis key prefix and one data directory per test process, so runs (and
// the parallel workers of one run) sharing these servers never collide; all are removed at
// the end of the run. Spawned CLI processes inherit the env.
//
// `npm test` runs mocha in parallel (two workers): each worker loads this file and makes its
// own database the first time a root hook runs; the main process, once every worker is
// done, drops everything of the run (`momentry_test_<run>_*`).
import { randomBytes } from 'node:crypto'
import { readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'

import postgres from 'postgres'
import { createClient } from '@redis/client'

import { migrate } from '../../src/core/db/migrate.js'

const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
// The run is named once, by the main process; its workers inherit the name.
const run = (process.env.MOMENTRY_TEST_RUN ??= randomBytes(4).toString('hex'))
const dbName = `momentry_test_${run}_${process.pid}`
const prefix = `${dbName}:`
const testUrl = new URL(adminUrl)
testUrl.pathname = `/${dbName}`

// Set at load time, before any test file is imported, so pools made while files load
// (postgres.js connects lazily) already point at this process's database.
process.env.DATABASE_URL = testUrl.toString()
process.env.REDIS_URL = redisUrl
process.env.MOMENTRY_REDIS_PREFIX = prefix
process.env.MOMENTRY_DATA_DIR = `/tmp/${dbName}`
process.env.NO_COLOR = '1'
// Never touch a developer's real keychain; the keychain path is tested with an in-memory backend.
process.env.MOMENTRY_CREDENTIAL_STORE = 'file'
// One audit key for the run, so tests can read audit details (test/helpers/db.ts auditRows).
process.env.MOMENTRY_AUDIT_KEY ??= randomBytes(32).toString('base64')
for (const name of ['GITEA_URL', 'GITEA_USERNAME', 'GITEA_PASSWORD', 'N8N_URL', 'N8N_EMAIL', 'N8N_PASSWORD']) delete process.env[name]
delete process.env.MOMENTRY_DEBUG

let created: Promise<void> | undefined
/** This process's database, created and migrated once, before its first test. */
function ensureDatabase(): Promise<void> {
  created ??= (async () => {
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} })
    await admin`create database ${admin(dbName)}`
    await admin.end()
    const sql = postgres(testUrl.toString(), { max: 1, onnotice: () => {} })
    await migrate(sql as never)
    await sql.end()
  })()
  return created
}

export const mochaHooks = {
  beforeAll: ensureDatabase,
}

/** A test that ran in embedded mode without its own data directory left a server in a process's: stop it, then remove the directory. */
async function stopEmbeddedLeftovers(dataDir: string): Promise<void> {
  for (const file of [join(dataDir, 'pg-idle.pid'), join(dataDir, 'pg', 'postmaster.pid')]) {
    const pid = Number((await readFile(file, 'utf8').catch(() => '')).split('\n')[0])
    if (!pid) continue
    try {
      process.kill(pid, file.endsWith('postmaster.pid') ? 'SIGINT' : 'SIGTERM')
      for (let i = 0; i < 300; i++) {
        process.kill(pid, 0)
        await new Promise((r) => setTimeout(r, 20))
      }
    } catch {
      // gone
    }
  }
  await rm(dataDir, { recursive: true, force: true })
}

/** Once, in the main process, after every test of the run: remove what its processes made. */
export async function mochaGlobalTeardown(): Promise<void> {
  const mine = `momentry_test_${run}_`
  for (const dir of (await readdir('/tmp')).filter((d) => d.startsWith(mine))) await stopEmbeddedLeftovers(join('/tmp', dir))
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} })
  for (const { datname } of await admin`select datname from pg_database where datname like ${`${mine}%`}`) {
    await admin`drop database if exists ${admin(datname)} with (force)`
  }
  await admin.end()
  const redis = createClient({ url: redisUrl })
  await redis.connect()
  for await (const keys of redis.scanIterator({ MATCH: `${mine}*`, COUNT: 500 })) {
    if (keys.length) await redis.del(keys)
  }
  await redis.close()
}
