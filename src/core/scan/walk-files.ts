import { lstat, readdir, readFile, stat } from 'node:fs/promises'
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
  /** As shown to the user: relative to the working directory when inside it, with `/`. */
  display: string
  bytes: Buffer
}

export interface WalkOptions {
  cwd: string
  maxFileBytes: number
  stats: WalkStats
}

interface IgnoreLevel {
  dir: string
  rules: Ignore
}

function displayPath(cwd: string, file: string): string {
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

async function gitignoreAt(dir: string): Promise<IgnoreLevel | undefined> {
  try {
    return { dir, rules: ignore().add(await readFile(path.join(dir, '.gitignore'), 'utf8')) }
  } catch {
    return undefined
  }
}

/**
 * The regular files under `root` (a directory or one file), read whole, in a stable order.
 * `.gitignore` files are obeyed at every level (and `.git` is never entered); symbolic links
 * are not followed (one pointing inside the tree names a file the walk reaches anyway, one
 * pointing out is outside what was asked); binaries (git's NUL test) and files over
 * `maxFileBytes` are skipped and counted.
 */
export async function* walkFiles(root: string, o: WalkOptions): AsyncGenerator<WalkedFile> {
  const top = path.resolve(o.cwd, root)
  const info = await stat(top).catch((error: NodeJS.ErrnoException) => {
    if (findKeys(Buffer.from(root, 'latin1')).length > 0) {
      throw new UsageError('a PATH given is a momentry key, not a file', 'Pipe text to scan with --stdin; never put a key in a command line')
    }
    throw new UsageError(`${printable(root, 120)}: cannot scan it (${error.code ?? error.message})`, 'Give files or directories that exist and that you can read')
  })
  if (!info.isDirectory()) {
    const file = await readCounted(top, info.size, o)
    if (file) yield { display: displayPath(o.cwd, top), bytes: file }
    return
  }
  yield* walkDir(top, [], o)
}

async function* walkDir(dir: string, parents: readonly IgnoreLevel[], o: WalkOptions): AsyncGenerator<WalkedFile> {
  const own = await gitignoreAt(dir)
  const levels = own ? [...parents, own] : parents
  let entries
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch {
    o.stats.skipped.unreadable++
    return
  }
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
      const bytes = await readCounted(full, undefined, o)
      if (bytes) yield { display: displayPath(o.cwd, full), bytes }
    }
  }
}

async function readCounted(file: string, knownSize: number | undefined, o: WalkOptions): Promise<Buffer | undefined> {
  try {
    const size = knownSize ?? (await lstat(file)).size
    if (size > o.maxFileBytes) {
      o.stats.skipped.too_large++
      return undefined
    }
    const bytes = await readFile(file)
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
  }
}
