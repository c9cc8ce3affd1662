// The embedded PostgreSQL's idle watch, run detached by `ensureEmbeddedServer` (see
// src/core/embedded/idle-watch-process.ts): `node embedded-watchdog.js <dataDir> <idleMs>`.
import { watchIdle } from './core/embedded/idle-watch-process.js'
import { embeddedPaths } from './core/embedded/paths.js'

const [dataDir, idleMs] = process.argv.slice(2)
if (!dataDir || !Number(idleMs)) {
  process.stderr.write('usage: embedded-watchdog <dataDir> <idleMs>\n')
  process.exit(2)
}
await watchIdle(embeddedPaths(dataDir), Number(idleMs))
process.exit(0)
