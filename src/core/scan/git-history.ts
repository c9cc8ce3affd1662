import { spawn } from 'node:child_process'
import { StringDecoder } from 'node:string_decoder'

import { UsageError } from '../errors.js'
import { looksBinary } from './find-keys.js'
import type { WalkStats } from './walk-files.js'

/** A blob of the history, read once. */
export interface HistoryBlob {
  bytes: Buffer
  /**
   * The oldest commit that added the blob, and its path there: known once the history has
   * been read to its end (the log streams newest first, so blobs are read while it runs).
   */
  origin(): { commit: string; path: string }
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

/** A usage error unless `repo` is a git repository; whether it has a commit yet. */
async function openRepo(repo: string): Promise<{ hasHead: boolean }> {
  await git(repo, ['rev-parse', '--git-dir']).catch(() => {
    throw new UsageError(`${repo} is not a git repository`, "Give the repository's directory as PATH, or scan its files without --git")
  })
  return {
    hasHead: await git(repo, ['rev-parse', '--verify', '--quiet', 'HEAD']).then(
      () => true,
      () => false,
    ),
  }
}

/**
 * Reads `git log --raw -z` as it streams and calls `onBlob` for every appearance of a blob
 * (newest commit first), saying whether it is the first. With -z, a raw entry is
 * ":modes shas status\0path\0" and a commit header "\x01<id>\0".
 */
function logParser(onBlob: (sha: string, commit: string, path: string, first: boolean) => void) {
  const decoder = new StringDecoder('utf8')
  const seen = new Set<string>()
  let rest = ''
  let commit = ''
  let entry: { sha: string; keep: boolean } | undefined
  const field = (text: string) => {
    if (entry) {
      if (entry.keep) {
        const first = !seen.has(entry.sha)
        if (first) seen.add(entry.sha)
        onBlob(entry.sha, commit, text, first)
      }
      entry = undefined
      return
    }
    let f = text
    const header = f.lastIndexOf('\x01')
    if (header !== -1) {
      commit = f.slice(header + 1, header + 41)
      f = f.slice(header + 41)
    }
    f = f.replace(/^\n+/, '')
    if (!f.startsWith(':')) return
    const [, newMode, , newSha, status] = f.slice(1).split(' ')
    entry = { sha: newSha ?? '', keep: Boolean(newSha) && status !== 'D' && !NO_BLOB.test(newSha!) && FILE_MODES.has(newMode ?? '') }
  }
  return {
    write(chunk: Buffer) {
      const parts = (rest + decoder.write(chunk)).split('\0')
      rest = parts.pop()!
      for (const p of parts) field(p)
    },
    end() {
      const last = rest + decoder.end()
      if (last) field(last)
    },
  }
}

/**
 * Every file blob reachable from the current branch (or every ref), each read exactly once,
 * attributed to the oldest commit that added it; binaries are skipped as in a tree walk. Three
 * git processes run as a pipeline, so reading blobs overlaps walking the history: `git log`
 * (newest first: `--reverse` would walk it all before the first line) names each new blob,
 * `cat-file --batch-check` sizes it (a huge blob is never read), and one `cat-file --batch`
 * streams the contents. Each later (older) appearance moves the blob's origin back.
 */
export async function* historyBlobs(o: HistoryOptions): AsyncGenerator<HistoryBlob> {
  const { hasHead } = await openRepo(o.repo)
  if (!hasHead && !o.allRefs) return
  const where = new Map<string, { commit: string; path: string }>()
  const spawnGit = (args: string[]) => spawn('git', ['-C', o.repo, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
  const log = spawnGit([
    'log', '--format=%x01%H', '--raw', '--no-abbrev', '--no-renames', '--root',
    '--diff-merges=first-parent', '-z', o.allRefs ? '--all' : 'HEAD', '--',
  ])
  // --buffer: output in full pipe-sized writes, not one flush per object (thousands of tiny reads).
  const checker = spawnGit(['cat-file', '--buffer', '--batch-check=%(objectname) %(objectsize)'])
  const reader = spawnGit(['cat-file', '--buffer', '--batch'])
  const children = [log, checker, reader]
  let logError = ''
  const failed = new Promise<void>((resolve) => {
    log.stderr.on('data', (b: Buffer) => (logError += b.toString('utf8')))
    log.on('error', (e) => ((logError ||= `cannot run git: ${e.message}`), resolve()))
    log.on('close', (code) => {
      if (code !== 0) logError ||= `git log exited ${code}`
      resolve()
    })
  })
  // Ids are passed on one write per chunk read (a write per id costs more than git's work on it).
  let toCheck = ''
  const parser = logParser((sha, commit, path, first) => {
    where.set(sha, { commit, path })
    if (first) toCheck += `${sha}\n`
  })
  log.stdout.on('data', (b: Buffer) => {
    parser.write(b)
    if (toCheck) checker.stdin.write(toCheck)
    toCheck = ''
  })
  log.stdout.on('end', () => {
    parser.end()
    checker.stdin.end(toCheck)
  })
  let sizes = ''
  checker.stdout.setEncoding('latin1')
  checker.stdout.on('data', (text: string) => {
    const lines = (sizes + text).split('\n')
    sizes = lines.pop()!
    let toRead = ''
    for (const line of lines) {
      const [sha, size] = line.split(' ')
      if (!sha || !size || size === 'missing') continue
      if (Number(size) > o.maxFileBytes) o.stats.skipped.too_large++
      else toRead += `${sha}\n`
    }
    if (toRead) reader.stdin.write(toRead)
  })
  checker.stdout.on('end', () => reader.stdin.end())
  for (const child of children) {
    child.stdin.on('error', () => {}) // a child that has exited early: its error is git log's
    child.on('error', () => {})
  }
  try {
    for await (const { sha, bytes } of parseBatch(reader.stdout as AsyncIterable<Buffer>)) {
      if (looksBinary(bytes)) {
        o.stats.skipped.binary++
        continue
      }
      o.stats.files++
      o.stats.bytes += bytes.length
      yield { bytes, origin: () => where.get(sha)! }
    }
    await failed
    if (logError) throw new UsageError(`git log failed in ${o.repo}: ${logError.trim().split('\n')[0]}`)
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill()
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
  yield* parseBatch(child.stdout as AsyncIterable<Buffer>)
}

/** The objects in a `git cat-file --batch` output stream. */
async function* parseBatch(stdout: AsyncIterable<Buffer>): AsyncGenerator<{ sha: string; bytes: Buffer }> {
  let head: Buffer = Buffer.alloc(0)
  let body: { sha: string; bytes: Buffer; filled: number } | undefined
  let skipNewline = false
  for await (const chunk of stdout) {
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
