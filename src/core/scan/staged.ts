import { stat } from 'node:fs/promises'
import { join } from 'node:path'

import type { KeyStatus, KeyType } from '../api-keys/key-types.js'
import { keyStatus } from '../api-keys/status.js'
import type { CoreContext } from '../context.js'
import { classifyPostgresError, databaseLabel } from '../db/connect.js'
import { embeddedPaths } from '../embedded/paths.js'
import { ConfigError, ConnectionError, UsageError } from '../errors.js'
import { findKeys, looksBinary } from './find-keys.js'
import { FILE_MODES, catBlobs, git } from './git-history.js'
import { findKeysByRaw } from './repo.js'
import { DEFAULT_MAX_FILE_BYTES } from './scan.js'
import type { WalkStats } from './walk-files.js'
import { emptyWalkStats } from './walk-files.js'

/** A momentry key (by prefix and CRC32) that the index adds to a file. */
export interface StagedKey {
  path: string
  line: number
  column: number
  stub: string
  type: KeyType
  /** In memory only, for the lookup by hash. */
  raw: string
}

interface StagedChange {
  path: string
  /** The blob at HEAD, when the file is modified (not added). */
  before: string | null
  after: string
}

const NO_BLOB = /^0+$/

/** What the index changes against HEAD: added, modified or retyped regular files (`--raw -z`). */
async function stagedChanges(repo: string): Promise<StagedChange[]> {
  await git(repo, ['rev-parse', '--git-dir']).catch(() => {
    throw new UsageError(`${repo} is not a git repository`, 'Run it inside the repository, or give it with --repo')
  })
  // On an unborn branch (the first commit) `diff --cached` compares with the empty tree.
  const out = await git(repo, ['diff', '--cached', '--raw', '-z', '--no-renames', '--no-abbrev', '--diff-filter=AMT', '--ignore-submodules=all'])
  const fields = out.toString('utf8').split('\0')
  const changes: StagedChange[] = []
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!.replace(/^\n+/, '')
    if (!field.startsWith(':')) continue
    const [oldMode, newMode, oldSha, newSha] = field.slice(1).split(' ')
    const path = fields[++i] ?? ''
    if (!newSha || NO_BLOB.test(newSha) || !FILE_MODES.has(newMode ?? '')) continue
    changes.push({ path, before: oldSha && !NO_BLOB.test(oldSha) && FILE_MODES.has(oldMode ?? '') ? oldSha : null, after: newSha })
  }
  return changes
}

/**
 * Every momentry key the index would add to the repository: found offline (prefix and CRC32)
 * in the staged version of each added or modified file, less the keys that file already holds
 * at HEAD (a commit that merely keeps a key is not adding it). Each blob is read once through
 * one `git cat-file --batch`; binaries and blobs over `maxFileBytes` are skipped and counted.
 * The index is the one git uses for this commit (`GIT_INDEX_FILE`, set by `git commit -a`).
 */
export async function stagedKeys(o: { repo: string; maxFileBytes?: number; stats?: WalkStats }): Promise<StagedKey[]> {
  const stats = o.stats ?? emptyWalkStats()
  const changes = await stagedChanges(o.repo)
  const ids = [...new Set(changes.flatMap((c) => (c.before ? [c.before, c.after] : [c.after])))]
  if (ids.length === 0) return []
  const max = o.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES
  const wanted = new Set<string>()
  for (const line of (await git(o.repo, ['cat-file', '--batch-check=%(objectname) %(objectsize)'], `${ids.join('\n')}\n`)).toString('latin1').split('\n')) {
    const [sha, size] = line.split(' ')
    if (sha && size && Number(size) <= max) wanted.add(sha)
  }
  const bytesOf = new Map<string, Buffer>()
  for await (const { sha, bytes } of catBlobs(o.repo, [...wanted])) bytesOf.set(sha, bytes)

  const keys: StagedKey[] = []
  for (const c of changes) {
    const after = bytesOf.get(c.after)
    if (!after) {
      stats.skipped.too_large++
      continue
    }
    if (looksBinary(after)) {
      stats.skipped.binary++
      continue
    }
    stats.files++
    stats.bytes += after.length
    const hits = findKeys(after)
    if (hits.length === 0) continue
    const before = c.before ? bytesOf.get(c.before) : undefined
    const kept = new Set(before ? findKeys(before).map((h) => h.raw) : [])
    for (const h of hits) if (!kept.has(h.raw)) keys.push({ path: c.path, line: h.line, column: h.column, stub: h.stub, type: h.type, raw: h.raw })
  }
  return keys
}

/** A key a commit would add, and whether it stops the commit. Never the key itself. */
export interface StagedFinding {
  path: string
  line: number
  column: number
  stub: string
  type: KeyType
  keyId: string | null
  name: string | null
  /** `unchecked`: the database could not be asked. */
  status: KeyStatus | 'unknown' | 'unchecked'
  /** Live (active, rotating), disabled (it can be enabled again), or unchecked. */
  blocks: boolean
}

export interface StagedCheck {
  items: StagedFinding[]
  /** How the keys found were judged: by their records, or offline only (the database unreachable). */
  lookup: 'none' | 'database' | 'offline'
  /** Why the database could not be asked (`offline`). */
  offlineReason: string | null
  /** Findings that stop the commit. */
  blocked: number
  scanned: WalkStats
}

/** The statuses a key may validate in again: a commit must not add them. */
const BLOCKING = new Set<StagedFinding['status']>(['active', 'rotating', 'disabled', 'unchecked'])

/**
 * The database's records of `hashes`, or why it cannot be asked. Embedded mode asks only a
 * data directory that already holds a database: a commit hook must not create one (that
 * would be a first run in the middle of `git commit`), and an empty one knows no keys.
 */
async function recordsIfReachable(ctx: CoreContext, raws: string[]) {
  if (!ctx.config.databaseUrl) {
    const p = embeddedPaths(ctx.config.dataDir)
    const made = await stat(join(p.pgDir, 'PG_VERSION')).then(
      () => true,
      () => false,
    )
    if (!made) return { reason: `there is no momentry database in ${ctx.config.dataDir} (set DATABASE_URL, or MOMENTRY_DATA_DIR)` }
  }
  try {
    return { records: await findKeysByRaw(ctx.sql, raws) }
  } catch (error) {
    const e = classifyPostgresError(error, databaseLabel(ctx.config))
    if (e instanceof ConnectionError || e instanceof ConfigError) return { reason: e.reason }
    throw error
  }
}

/**
 * The pre-commit check (`scan --staged`): the keys the index adds, found offline; only when
 * there is one is the database asked (so a commit without keys never touches it). A live,
 * rotating or disabled key stops the commit; a revoked, expired or unknown one does not.
 * When the database cannot be asked, every key found stops it: a checksum-valid key is a
 * real key, and telling a dead one from a live one needs the records (fail closed).
 */
export async function checkStaged(ctx: CoreContext, o: { repo: string; maxFileBytes?: number }): Promise<StagedCheck> {
  const scanned = emptyWalkStats()
  const keys = await stagedKeys({ ...o, stats: scanned })
  if (keys.length === 0) return { items: [], lookup: 'none', offlineReason: null, blocked: 0, scanned }
  const found = await recordsIfReachable(ctx, keys.map((k) => k.raw))
  const now = ctx.clock.now()
  const items = keys.map((k): StagedFinding => {
    const record = found.records?.get(k.raw)
    const status = !found.records ? 'unchecked' : record ? keyStatus(record, now) : 'unknown'
    return { path: k.path, line: k.line, column: k.column, stub: k.stub, type: record?.type ?? k.type, keyId: record?.keyId ?? null, name: record?.name ?? null, status, blocks: BLOCKING.has(status) }
  })
  return {
    items,
    lookup: found.records ? 'database' : 'offline',
    offlineReason: found.reason ?? null,
    blocked: items.filter((f) => f.blocks).length,
    scanned,
  }
}
