// The fault tests' process: isolated like the rest of the suite (file credential store, its
// own data directory and audit key, no Gitea/n8n credentials), but pointed at no shared
// server — each test starts its own PostgreSQL and Redis and hands their URLs to what it runs.
// Until then DATABASE_URL names a port nobody listens on, so nothing falls back to the
// machine's servers (or to embedded mode) by accident.
import { randomBytes } from 'node:crypto'
import { rm } from 'node:fs/promises'

const dataDir = `/tmp/momentry_faults_${process.pid}`
process.env.DATABASE_URL = 'postgres://postgres@127.0.0.1:9/not-set-by-the-test'
process.env.REDIS_URL = 'redis://127.0.0.1:9'
process.env.MOMENTRY_REDIS_PREFIX = `momentry_faults_${process.pid}:`
process.env.MOMENTRY_DATA_DIR = dataDir
process.env.NO_COLOR = '1'
process.env.MOMENTRY_CREDENTIAL_STORE = 'file'
process.env.MOMENTRY_AUDIT_KEY ??= randomBytes(32).toString('base64')
for (const name of ['GITEA_URL', 'GITEA_USERNAME', 'GITEA_PASSWORD', 'N8N_URL', 'N8N_EMAIL', 'N8N_PASSWORD', 'MOMENTRY_DEBUG', 'TEST_DATABASE_URL', 'TEST_REDIS_URL']) delete process.env[name]

export async function mochaGlobalTeardown(): Promise<void> {
  await rm(dataDir, { recursive: true, force: true })
}
