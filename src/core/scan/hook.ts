import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import path from 'node:path'

import { ConflictError, UsageError } from '../errors.js'
import { printable } from '../printable.js'
import { git } from './git-history.js'

/** The second line of every hook momentry writes: how it knows its own hook from someone else's. */
export const HOOK_MARKER = '# momentry pre-commit hook'

/** How the hook starts this very momentry: absolute paths, so it needs no PATH (GUI git clients have little) and never a download. */
export interface HookCommand {
  /** The Node.js binary (`process.execPath`). */
  node: string
  /** momentry's `bin/run.js`. */
  bin: string
}

const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`

/** The command line that runs the check, for the hook and for chaining it into another. */
export function hookCommandLine(c: HookCommand): string {
  return `${shellQuote(c.node)} ${shellQuote(c.bin)} scan --staged`
}

/**
 * The hook: a few lines of POSIX sh that run `momentry scan --staged` with the same Node.js
 * and momentry that installed it. When either has gone (Node upgraded, checkout moved) it
 * says so and refuses the commit, instead of letting every commit through unchecked.
 */
export function hookScript(c: HookCommand): string {
  return [
    '#!/bin/sh',
    HOOK_MARKER,
    '# Refuses a commit that adds a live momentry key (see `momentry scan --help`).',
    '# Written by `momentry scan --install-hook`, which rewrites only this hook; run it again after moving node or momentry.',
    '# Commit anyway, knowingly: git commit --no-verify',
    `node=${shellQuote(c.node)}`,
    `momentry=${shellQuote(c.bin)}`,
    'if [ ! -x "$node" ] || [ ! -f "$momentry" ]; then',
    '  echo "momentry pre-commit hook: $node or $momentry is gone; run \\`momentry scan --install-hook\\` again, or commit anyway with git commit --no-verify" >&2',
    '  exit 1',
    'fi',
    'exec "$node" "$momentry" scan --staged',
    '',
  ].join('\n')
}

export interface InstalledHook {
  /** The hook file written (or found up to date). */
  path: string
  outcome: 'installed' | 'updated' | 'unchanged'
  /** The hooks directory is inside the work tree (`core.hooksPath`): the hook names this machine's paths, so it is not for committing. */
  inWorkTree: boolean
}

/**
 * Install the pre-commit hook in the repository at `repo`, in the hooks directory git itself
 * uses (`git rev-parse --git-path hooks`: `core.hooksPath` when set, a worktree's common
 * directory). Idempotent for momentry's own hook (rewritten when its paths changed); a hook
 * that is someone else's is never overwritten — the error says how to chain both.
 */
export async function installHook(o: { repo: string; command: HookCommand }): Promise<InstalledHook> {
  const top = (
    await git(o.repo, ['rev-parse', '--show-toplevel']).catch(() => {
      throw new UsageError(`${printable(o.repo, 120)} is not the work tree of a git repository`, 'Run it inside the repository, or give it with --repo DIR')
    })
  )
    .toString('utf8')
    .trim()
  // A relative core.hooksPath is relative to the top of the work tree, where hooks run.
  const hooksDir = path.resolve(top, (await git(top, ['rev-parse', '--git-path', 'hooks'])).toString('utf8').trim())
  const file = path.join(hooksDir, 'pre-commit')
  const script = hookScript(o.command)
  const existing = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined
    throw error
  })
  if (existing !== undefined && existing.split('\n')[1] !== HOOK_MARKER) {
    throw new ConflictError(
      `${file} already exists and is not momentry's hook; it was left as it is`,
      `To run both, add this line near the top of it: ${hookCommandLine(o.command)} || exit $?`,
    )
  }
  const outcome = existing === undefined ? 'installed' : existing === script ? 'unchanged' : 'updated'
  if (outcome !== 'unchanged') {
    await mkdir(hooksDir, { recursive: true })
    const tmp = `${file}.momentry-${process.pid}`
    await writeFile(tmp, script, { mode: 0o755 })
    await chmod(tmp, 0o755)
    await rename(tmp, file)
  }
  const rel = path.relative(top, hooksDir)
  return { path: file, outcome, inWorkTree: !rel.startsWith('..') && !path.isAbsolute(rel) && !rel.split(path.sep).includes('.git') }
}
