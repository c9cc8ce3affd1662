import type { Readable } from 'node:stream'

import * as z from 'zod'

import { hashKey } from '../api-keys/key-format.js'
import type { KeyStatus, KeyType } from '../api-keys/key-types.js'
import { keyStatus } from '../api-keys/status.js'
import type { CoreContext } from '../context.js'
import { UsageError } from '../errors.js'
import { parseInput } from '../validate-input.js'
import type { KeyHit } from './find-keys.js'
import { findKeys, looksBinary } from './find-keys.js'
import { historyBlobs } from './git-history.js'
import { findKeysByHashes } from './repo.js'
import type { WalkStats } from './walk-files.js'
import { displayPath, emptyWalkStats, walkFiles } from './walk-files.js'

/** Files (and blobs) larger than this are skipped unless `maxFileBytes` says otherwise. */
export const DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024

export const scanInputSchema = z
  .object({
    /** Files and directories to walk (default: the working directory, unless git or stdin is scanned). */
    paths: z.array(z.string().min(1)).default([]),
    /** Scan the history of this repository instead of (or besides) files. */
    git: z.object({ repo: z.string().min(1), allRefs: z.boolean().default(false) }).optional(),
    stdin: z.boolean().default(false),
    maxFileBytes: z.number().int().positive().default(DEFAULT_MAX_FILE_BYTES),
    cwd: z.string(),
  })
  .strict()

export type ScanInput = z.input<typeof scanInputSchema>

/** Where a credential was found: a file, a blob of the history (with the commit that added it), or stdin. */
export interface LeakLocation {
  source: 'file' | 'git' | 'stdin'
  /** The file's path (relative to the working directory when inside it); null for stdin. */
  path: string | null
  /** The oldest commit that added the blob (`git` only). */
  commit: string | null
  line: number
  column: number
}

/** One credential at one place. Never the secret: only its display stub. */
export interface LeakFinding {
  credential: 'momentry'
  location: LeakLocation
  stub: string
  type: KeyType
  /** The key as momentry knows it, or null when no key of this database has that hash. */
  keyId: string | null
  name: string | null
  status: KeyStatus | 'unknown'
  /** Would validate now (active or rotating): a leak to act on. */
  live: boolean
}

export interface ScanResult {
  items: LeakFinding[]
  /** Findings that are live credentials. */
  live: number
  scanned: WalkStats
}

/** A hit with its raw key: kept only in memory, for the lookup and the response. */
export interface RawFinding {
  finding: LeakFinding
  raw: string
}

/** Where a key text sits, one place per line it was found on. */
interface Located {
  hit: KeyHit
  location: LeakLocation
}

async function readStream(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string))
  return Buffer.concat(chunks)
}

async function collect(i: z.output<typeof scanInputSchema>, stdin: Readable | undefined, stats: WalkStats): Promise<Located[]> {
  const found: Located[] = []
  const at = (hits: KeyHit[], where: Omit<LeakLocation, 'line' | 'column'>) => {
    for (const hit of hits) found.push({ hit, location: { ...where, line: hit.line, column: hit.column } })
  }
  if (i.stdin) {
    if (!stdin) throw new UsageError('--stdin was given but there is no standard input')
    const bytes = await readStream(stdin)
    stats.bytes += bytes.length
    if (looksBinary(bytes)) stats.skipped.binary++
    else {
      stats.files++
      at(findKeys(bytes), { source: 'stdin', path: null, commit: null })
    }
  }
  for (const root of i.paths) {
    for (const file of walkFiles(root, { cwd: i.cwd, maxFileBytes: i.maxFileBytes, stats })) {
      const hits = findKeys(file.bytes)
      if (hits.length > 0) at(hits, { source: 'file', path: displayPath(i.cwd, file.path), commit: null })
    }
  }
  if (i.git) {
    for await (const blob of historyBlobs({ repo: i.git.repo, allRefs: i.git.allRefs, maxFileBytes: i.maxFileBytes, stats })) {
      at(findKeys(blob.bytes), { source: 'git', path: blob.path, commit: blob.commit })
    }
  }
  return found
}

/**
 * Find momentry keys in files, a git history or stdin, and say for each which key it is and
 * whether it is live, looked up by hash in one query. Read-only: acting on the findings is
 * `respondToLeaks`. The raw keys are returned beside the findings for that, never inside them.
 */
export async function scanForKeys(ctx: CoreContext, input: ScanInput, stdin?: Readable): Promise<{ result: ScanResult; raw: RawFinding[] }> {
  const i = parseInput(scanInputSchema, input)
  const stats = emptyWalkStats()
  const located = await collect({ ...i, paths: i.paths.length || i.git || i.stdin ? i.paths : ['.'] }, stdin, stats)
  const hashes = new Map<string, Buffer>()
  for (const l of located) if (!hashes.has(l.hit.raw)) hashes.set(l.hit.raw, hashKey(l.hit.raw))
  const records = await findKeysByHashes(ctx.sql, [...hashes.values()])
  const byHash = new Map(records.map((r) => [r.keyHash.toString('base64'), r]))
  const now = ctx.clock.now()
  const raw = located.map(({ hit, location }): RawFinding => {
    const record = byHash.get(hashes.get(hit.raw)!.toString('base64'))
    const status = record ? keyStatus(record, now) : 'unknown'
    return {
      raw: hit.raw,
      finding: {
        credential: 'momentry',
        location,
        stub: hit.stub,
        type: record?.type ?? hit.type,
        keyId: record?.keyId ?? null,
        name: record?.name ?? null,
        status,
        live: status === 'active' || status === 'rotating',
      },
    }
  })
  const items = raw.map((r) => r.finding)
  return { result: { items, live: items.filter((f) => f.live).length, scanned: stats }, raw }
}
