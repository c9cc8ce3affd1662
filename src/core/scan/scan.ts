import type { Readable } from 'node:stream'

import * as z from 'zod'

import type { KeyStatus, KeyType } from '../api-keys/key-types.js'
import { keyStatus } from '../api-keys/status.js'
import type { CoreContext } from '../context.js'
import { UsageError } from '../errors.js'
import { parseInput } from '../validate-input.js'
import type { KeyHit } from './find-keys.js'
import { findKeys, looksBinary } from './find-keys.js'
import { historyBlobs } from './git-history.js'
import type { Confirmation } from './confirm.js'
import { candidateKey, confirmCandidates } from './confirm.js'
import type { ServiceCandidate, ServiceCredential, SuffixIndex } from './find-service-tokens.js'
import { findServiceTokens, serviceStub, suffixIndex } from './find-service-tokens.js'
import { findKeysByRaw, listTrackedSuffixes } from './repo.js'
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
export type LeakFinding = MomentryKeyFinding | ServiceTokenFinding

/** A momentry key at one place. */
export interface MomentryKeyFinding {
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

/**
 * A Gitea token or n8n API key momentry tracks, at one place. Reported only once the service
 * accepted it (`confirmed`), or when the service could not be asked (`unconfirmed`); text that
 * merely ends like a tracked token and that the service refuses is not a finding.
 */
export interface ServiceTokenFinding {
  credential: ServiceCredential
  location: LeakLocation
  /** The first four characters only (never the tail that `gitea list` / `n8n list` show). */
  stub: string
  type: 'gitea-token' | 'n8n-api-key'
  /** The tracked record: Gitea's numeric token id (as text) or the n8n key id, its name or label. */
  keyId: string
  name: string
  /** The Gitea user, or the n8n owner's e-mail (null when momentry did not record it). */
  user: string | null
  /** The server the credential lives on. */
  url: string
  status: 'confirmed' | 'unconfirmed'
  /** Confirmed by the service: a leak to act on. */
  live: boolean
  /** More than one tracked record fits (same server, user and tail): none is acted on. */
  ambiguous: boolean
  /** `unconfirmed`: why the service could not say (one line, never the token). */
  reason: string | null
}

export interface ScanResult {
  items: LeakFinding[]
  /** Findings that are live credentials. */
  live: number
  /** Gitea/n8n findings whose service could not be asked (the exit status counts them too). */
  unconfirmed: number
  scanned: WalkStats
  /** Gitea/n8n candidates: texts with a tracked tail and the right shape, each asked about once. */
  candidates: { checked: number; confirmed: number; refused: number; unconfirmed: number }
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

/** Where a Gitea/n8n candidate sits. */
interface LocatedCandidate {
  candidate: ServiceCandidate
  location: LeakLocation
}

interface Collected {
  keys: Located[]
  candidates: LocatedCandidate[]
}

async function readStream(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string))
  return Buffer.concat(chunks)
}

async function collect(i: z.output<typeof scanInputSchema>, stdin: Readable | undefined, stats: WalkStats, tails: SuffixIndex | undefined): Promise<Collected> {
  const found: Collected = { keys: [], candidates: [] }
  type Where = Omit<LeakLocation, 'line' | 'column'>
  // `where` may be a thunk: a file's display path is worked out only when something is found in it.
  const at = (bytes: Buffer, place: Where | (() => Where)) => {
    const hits = findKeys(bytes)
    const candidates = tails ? findServiceTokens(bytes, tails) : []
    if (hits.length === 0 && candidates.length === 0) return
    const where = typeof place === 'function' ? place() : place
    for (const hit of hits) found.keys.push({ hit, location: { ...where, line: hit.line, column: hit.column } })
    for (const candidate of candidates) found.candidates.push({ candidate, location: { ...where, line: candidate.line, column: candidate.column } })
  }
  if (i.stdin) {
    if (!stdin) throw new UsageError('--stdin was given but there is no standard input')
    const bytes = await readStream(stdin)
    stats.bytes += bytes.length
    if (looksBinary(bytes)) stats.skipped.binary++
    else {
      stats.files++
      at(bytes, { source: 'stdin', path: null, commit: null })
    }
  }
  for (const root of i.paths) {
    for (const file of walkFiles(root, { cwd: i.cwd, maxFileBytes: i.maxFileBytes, stats })) {
      at(file.bytes, () => ({ source: 'file', path: displayPath(i.cwd, file.path), commit: null }))
    }
  }
  if (i.git) {
    // A blob's oldest commit is known only once the whole history is read: hits are placed then.
    const placed: { keys: number; candidates: number; origin: () => { commit: string; path: string } }[] = []
    for await (const blob of historyBlobs({ repo: i.git.repo, allRefs: i.git.allRefs, maxFileBytes: i.maxFileBytes, stats })) {
      const keys = found.keys.length
      const candidates = found.candidates.length
      at(blob.bytes, { source: 'git', path: null, commit: null })
      if (found.keys.length > keys || found.candidates.length > candidates) placed.push({ keys, candidates, origin: blob.origin })
    }
    placed.forEach((p, n) => {
      const { commit, path } = p.origin()
      const next = placed[n + 1]
      for (const l of found.keys.slice(p.keys, next?.keys)) Object.assign(l.location, { commit, path })
      for (const l of found.candidates.slice(p.candidates, next?.candidates)) Object.assign(l.location, { commit, path })
    })
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
  const now = ctx.clock.now()
  // The tails of every live tracked Gitea token and n8n key, read once; none tracked → no search.
  const tracked = await listTrackedSuffixes(ctx.sql, now)
  const collected = await collect({ ...i, paths: i.paths.length || i.git || i.stdin ? i.paths : ['.'] }, stdin, stats, suffixIndex(tracked))
  const records = await findKeysByRaw(ctx.sql, collected.keys.map((l) => l.hit.raw))
  const raw = collected.keys.map(({ hit, location }): RawFinding => {
    const record = records.get(hit.raw)
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
  const confirmations = await confirmCandidates(ctx, collected.candidates.map((c) => c.candidate), tracked)
  for (const { candidate, location } of collected.candidates) {
    const c = confirmations.get(candidateKey(candidate.credential, candidate.raw))
    if (!c || c.status === 'refused') continue
    raw.push({
      raw: candidate.raw,
      finding: {
        credential: candidate.credential,
        location,
        stub: serviceStub(candidate.raw),
        type: candidate.credential === 'gitea' ? 'gitea-token' : 'n8n-api-key',
        keyId: c.record.id,
        name: c.record.name,
        user: c.record.user,
        url: c.record.url,
        status: c.status,
        live: c.status === 'confirmed',
        ambiguous: c.status === 'confirmed' && c.ambiguous,
        reason: c.status === 'unconfirmed' ? c.reason : null,
      },
    })
  }
  const items = raw.map((r) => r.finding)
  const verdicts = [...confirmations.values()]
  const count = (status: Confirmation['status']) => verdicts.filter((v) => v.status === status).length
  return {
    result: {
      items,
      live: items.filter((f) => f.live).length,
      unconfirmed: items.filter((f) => f.status === 'unconfirmed').length,
      scanned: stats,
      candidates: { checked: verdicts.length, confirmed: count('confirmed'), refused: count('refused'), unconfirmed: count('unconfirmed') },
    },
    raw,
  }
}
