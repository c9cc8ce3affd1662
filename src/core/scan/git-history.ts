import { spawn } from 'node:child_process'

import { UsageError } from '../errors.js'
import { looksBinary } from './find-keys.js'
import type { WalkStats } from './walk-files.js'

/** A blob of the history, read once, with the first commit (oldest) and path that added it. */
export interface HistoryBlob {
  commit: string
  path: string
  bytes: Buffer
}

export interface HistoryOptions {
  repo: string
  /** Every ref (`--all`) instead of the current branch. */
  allRefs: boolean
  maxFileBytes: number
  stats: WalkStats
}

const NO_BLOB = /^0+$/
export const FILE_MODES = new Set(['100644', '100755'])

/** Run git in `repo`; a failure is a usage error naming the subcommand and git's first line. */
export function git(repo: string, args: string[], input?: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['-C', repo, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.stderr.on('data', (b: Buffer) => err.push(b))
    child.on('error', (e) => reject(new UsageError(`cannot run git: ${e.message}`, 'Install git, or scan files without --git')))
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out))
      else reject(new UsageError(`git ${args[0]} failed in ${repo}: ${Buffer.concat(err).toString('utf8').trim().split('\n')[0]}`))
    })
    child.stdin.end(input)
  })
}

/** Where each blob of the history first appeared, oldest commit first. */
async function firstAppearances(o: HistoryOptions): Promise<Map<string, { commit: string; path: string }>> {
  await git(o.repo, ['rev-parse', '--git-dir']).catch(() => {
    throw new UsageError(`${o.repo} is not a git repository`, "Give the repository's directory as PATH, or scan its files without --git")
  })
  const hasHead = await git(o.repo, ['rev-parse', '--verify', '--quiet', 'HEAD']).then(
    () => true,
    () => false,
  )
  const seen = new Map<string, { commit: string; path: string }>()
  if (!hasHead && !o.allRefs) return seen
  const log = await git(o.repo, [
    'log', '--reverse', '--format=%x01%H', '--raw', '--no-abbrev', '--no-renames', '--root',
    '--diff-merges=first-parent', '-z', o.allRefs ? '--all' : 'HEAD', '--',
  ])
  let commit = ''
  // With -z, a raw entry is ":modes shas status\0path\0"; commit headers start with \x01.
  const fields = log.toString('utf8').split('\0')
  for (let i = 0; i < fields.length; i++) {
    let field = fields[i]!
    const header = field.lastIndexOf('\x01')
    if (header !== -1) {
      commit = field.slice(header + 1, header + 41)
      field = field.slice(header + 41)
    }
    field = field.replace(/^\n+/, '')
    if (!field.startsWith(':')) continue
    const [, newMode, , newSha, status] = field.slice(1).split(' ')
    const file = fields[++i] ?? ''
    if (!newSha || status === 'D' || NO_BLOB.test(newSha) || !FILE_MODES.has(newMode ?? '')) continue
    if (!seen.has(newSha)) seen.set(newSha, { commit, path: file })
  }
  return seen
}

/**
 * Every file blob reachable from the current branch (or every ref), each read exactly once,
 * attributed to the oldest commit that added it. Sizes are asked first so that huge blobs are
 * never read; binaries are skipped as in a tree walk.
 */
export async function* historyBlobs(o: HistoryOptions): AsyncGenerator<HistoryBlob> {
  const blobs = await firstAppearances(o)
  if (blobs.size === 0) return
  const ids = [...blobs.keys()]
  const sizes = (await git(o.repo, ['cat-file', '--batch-check=%(objectname) %(objectsize)'], `${ids.join('\n')}\n`)).toString('latin1').split('\n')
  const wanted: string[] = []
  for (const line of sizes) {
    const [sha, size] = line.split(' ')
    if (!sha || !size) continue
    if (Number(size) > o.maxFileBytes) o.stats.skipped.too_large++
    else wanted.push(sha)
  }
  for await (const { sha, bytes } of catBlobs(o.repo, wanted)) {
    if (looksBinary(bytes)) {
      o.stats.skipped.binary++
      continue
    }
    o.stats.files++
    o.stats.bytes += bytes.length
    const where = blobs.get(sha)!
    yield { commit: where.commit, path: where.path, bytes }
  }
}

/**
 * Stream `git cat-file --batch`: "<sha> <type> <size>\n<content>\n" per object. A blob's
 * bytes are copied once into a buffer of its size, however the pipe chunks them.
 */
export async function* catBlobs(repo: string, ids: string[]): AsyncGenerator<{ sha: string; bytes: Buffer }> {
  if (ids.length === 0) return
  const child = spawn('git', ['-C', repo, 'cat-file', '--batch'], { stdio: ['pipe', 'pipe', 'ignore'] })
  child.stdin.end(`${ids.join('\n')}\n`)
  let head: Buffer = Buffer.alloc(0)
  let body: { sha: string; bytes: Buffer; filled: number } | undefined
  let skipNewline = false
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    let rest: Buffer = chunk
    while (rest.length > 0) {
      if (body) {
        const take = Math.min(body.bytes.length - body.filled, rest.length)
        rest.copy(body.bytes, body.filled, 0, take)
        body.filled += take
        rest = rest.subarray(take)
        if (body.filled < body.bytes.length) break
        yield { sha: body.sha, bytes: body.bytes }
        body = undefined
        // The newline after the content.
        head = Buffer.alloc(0)
        if (rest[0] === 10) rest = rest.subarray(1)
        else skipNewline = true
        continue
      }
      if (skipNewline) {
        skipNewline = false
        if (rest[0] === 10) rest = rest.subarray(1)
        continue
      }
      head = head.length ? Buffer.concat([head, rest]) : rest
      const eol = head.indexOf(10)
      if (eol === -1) {
        rest = Buffer.alloc(0)
        continue
      }
      const [sha, type, sizeText] = head.toString('latin1', 0, eol).split(' ')
      rest = head.subarray(eol + 1)
      head = Buffer.alloc(0)
      const size = Number(sizeText)
      if (type === 'missing' || !Number.isInteger(size)) continue
      body = { sha: sha!, bytes: Buffer.allocUnsafe(size), filled: 0 }
      if (size === 0) {
        yield { sha: body.sha, bytes: body.bytes }
        body = undefined
        skipNewline = true
      }
    }
  }
}
