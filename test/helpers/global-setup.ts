// One database and one Redis key prefix per test run, so runs sharing these servers
// never collide; both are dropped at the end. Spawned CLI processes inherit the env.
import { randomBytes } from 'node:crypto'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'

import postgres from 'postgres'
import { createClient } from '@redis/client'

import { migrate } from '../../src/core/db/migrate.js'

const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const suffix = randomBytes(5).toString('hex')
const dbName = `momentry_test_${suffix}`
const prefix = `momentry_test_${suffix}:`
const testUrl = new URL(adminUrl)
testUrl.pathname = `/${dbName}`

// Set at load time, before any test file is imported, so pools made while files load
// (postgres.js connects lazily) already point at this run's database.
process.env.DATABASE_URL = testUrl.toString()
process.env.REDIS_URL = redisUrl
process.env.MOMENTRY_REDIS_PREFIX = prefix
process.env.MOMENTRY_DATA_DIR = `/tmp/${dbName}`
process.env.NO_COLOR = '1'
// Never touch a developer's real keychain; the keychain path is tested with an in-memory backend.
process.env.MOMENTRY_CREDENTIAL_STORE = 'file'
for (const name of ['GITEA_URL', 'GITEA_USERNAME', 'GITEA_PASSWORD', 'N8N_URL', 'N8N_EMAIL', 'N8N_PASSWORD']) delete process.env[name]
delete process.env.MOMENTRY_DEBUG

export async function mochaGlobalSetup(): Promise<void> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} })
  await admin`create database ${admin(dbName)}`
  await admin.end()
  const sql = postgres(testUrl.toString(), { max: 1, onnotice: () => {} })
  await migrate(sql as never)
  await sql.end()
}

/** A test that ran in embedded mode without its own data directory left a server in the run's: stop it, then remove the directory. */
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

export async function mochaGlobalTeardown(): Promise<void> {
  await stopEmbeddedLeftovers(process.env.MOMENTRY_DATA_DIR!)
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} })
  await admin`drop database if exists ${admin(dbName)} with (force)`
  await admin.end()
  const redis = createClient({ url: redisUrl })
  await redis.connect()
  for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
    if (keys.length) await redis.del(keys)
  }
  await redis.close()
}
