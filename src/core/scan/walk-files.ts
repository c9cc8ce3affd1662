import { closeSync, fstatSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs'
import path from 'node:path'

import ignore, { type Ignore } from 'ignore'

import { UsageError } from '../errors.js'
import { printable } from '../printable.js'
import { findKeys, looksBinary } from './find-keys.js'

/** Why a file was not read. */
export type SkipReason = 'ignored' | 'symlink' | 'binary' | 'too_large' | 'unreadable'

export interface WalkStats {
  files: number
  bytes: number
  skipped: Record<SkipReason, number>
}

export function emptyWalkStats(): WalkStats {
  return { files: 0, bytes: 0, skipped: { ignored: 0, symlink: 0, binary: 0, too_large: 0, unreadable: 0 } }
}

export interface WalkedFile {
  /** The file's absolute path (`displayPath` gives it as shown to the user). */
  path: string
  /** The file's content: valid only until the walk reads the next file (copy what must be kept). */
  bytes: Buffer
}

export interface WalkOptions {
  cwd: string
  maxFileBytes: number
  stats: WalkStats
}

/** A walk's options and the one buffer it reads every file into. */
type WalkState = WalkOptions & { buffer: { bytes: Buffer } }

interface IgnoreLevel {
  dir: string
  rules: Ignore
}

/** A path as shown to the user: relative to the working directory when inside it, with `/`. */
export function displayPath(cwd: string, file: string): string {
  const rel = path.relative(cwd, file)
  return (rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file).split(path.sep).join('/')
}

function isIgnored(levels: readonly IgnoreLevel[], file: string, isDir: boolean): boolean {
  for (const level of levels) {
    const rel = path.relative(level.dir, file).split(path.sep).join('/')
    if (rel && level.rules.ignores(isDir ? `${rel}/` : rel)) return true
  }
  return false
}

function gitignoreAt(dir: string, names: ReadonlySet<string>): IgnoreLevel | undefined {
  if (!names.has('.gitignore')) return undefined
  try {
    return { dir, rules: ignore().add(readFileSync(path.join(dir, '.gitignore'), 'utf8')) }
  } catch {
    return undefined
  }
}

/**
 * The regular files under `root` (a directory or one file), read whole, in a stable order.
 * `.gitignore` files are obeyed at every level (and `.git` is never entered); symbolic links
 * are not followed (one pointing inside the tree names a file the walk reaches anyway, one
 * pointing out is outside what was asked); binaries (git's NUL test) and files over
 * `maxFileBytes` are skipped and counted. The file system is read synchronously: a scan is a
 * batch job, and each asynchronous read costs several thread-pool round trips per file (it was
 * most of the time over a tree of small files).
 */
export function* walkFiles(root: string, options: WalkOptions): Generator<WalkedFile> {
  const o = { ...options, buffer: { bytes: Buffer.allocUnsafe(1 << 20) } }
  const top = path.resolve(o.cwd, root)
  let info
  try {
    info = statSync(top)
  } catch (error) {
    if (findKeys(Buffer.from(root, 'latin1')).length > 0) {
      throw new UsageError('a PATH given is a momentry key, not a file', 'Pipe text to scan with --stdin; never put a key in a command line')
    }
    const e = error as NodeJS.ErrnoException
    throw new UsageError(`${printable(root, 120)}: cannot scan it (${e.code ?? e.message})`, 'Give files or directories that exist and that you can read')
  }
  if (!info.isDirectory()) {
    const file = readCounted(top, o)
    if (file) yield { path: top, bytes: file }
    return
  }
  yield* walkDir(top, [], o)
}

function* walkDir(dir: string, parents: readonly IgnoreLevel[], o: WalkState): Generator<WalkedFile> {
  let entries
  try {
    entries = readdirSync(dir, { withFileTypes: true })
  } catch {
    o.stats.skipped.unreadable++
    return
  }
  const own = gitignoreAt(dir, new Set(entries.map((e) => e.name)))
  const levels = own ? [...parents, own] : parents
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  for (const entry of entries) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) {
      if (entry.name === '.git') continue
      if (isIgnored(levels, full, true)) o.stats.skipped.ignored++
      else yield* walkDir(full, levels, o)
    } else if (entry.isSymbolicLink()) {
      o.stats.skipped.symlink++
    } else if (entry.isFile()) {
      if (isIgnored(levels, full, false)) {
        o.stats.skipped.ignored++
        continue
      }
      const bytes = readCounted(full, o)
      if (bytes) yield { path: full, bytes }
    }
  }
}

/**
 * A file's bytes, read into the walk's one reusable buffer (grown to the largest file read):
 * valid until the next file is read, which is all a scan needs, and no allocation per file.
 */
function readCounted(file: string, o: WalkState): Buffer | undefined {
  let fd: number | undefined
  try {
    fd = openSync(file, 'r')
    const size = fstatSync(fd).size
    if (size > o.maxFileBytes) {
      o.stats.skipped.too_large++
      return undefined
    }
    if (o.buffer.bytes.length < size) o.buffer.bytes = Buffer.allocUnsafe(Math.max(size, o.buffer.bytes.length * 2))
    let filled = 0
    while (filled < size) {
      const n = readSync(fd, o.buffer.bytes, filled, size - filled, filled)
      if (n === 0) break
      filled += n
    }
    const bytes = o.buffer.bytes.subarray(0, filled)
    if (looksBinary(bytes)) {
      o.stats.skipped.binary++
      return undefined
    }
    o.stats.files++
    o.stats.bytes += bytes.length
    return bytes
  } catch {
    o.stats.skipped.unreadable++
    return undefined
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}
