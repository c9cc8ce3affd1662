import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

/** A scratch directory for one test file, removed by `remove()`. */
export function scratchDir(label: string): { dir: string; write(rel: string, content: string | Buffer): string; link(rel: string, target: string): void; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), `momentry-${label}-`))
  return {
    dir,
    write(rel, content) {
      const file = path.join(dir, rel)
      mkdirSync(path.dirname(file), { recursive: true })
      writeFileSync(file, content)
      return file
    },
    link(rel, target) {
      const file = path.join(dir, rel)
      mkdirSync(path.dirname(file), { recursive: true })
      symlinkSync(target, file)
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}

/** Run git in `dir` with a fixed identity and dates (history the test makes itself). */
export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, '-c', 'user.email=test@example.com', '-c', 'user.name=test', '-c', 'init.defaultBranch=main', '-c', 'commit.gpgsign=false', ...args], {
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_DATE: '2031-01-01T00:00:00Z', GIT_COMMITTER_DATE: '2031-01-01T00:00:00Z' },
  }).trim()
}

/** Commit everything in `dir` and return the new commit's id. */
export function commitAll(dir: string, message: string): string {
  git(dir, 'add', '-A')
  git(dir, 'commit', '-q', '--allow-empty', '-m', message)
  return git(dir, 'rev-parse', 'HEAD')
}

/** `key` with one character of its body changed (its checksum no longer matches). */
export function mutate(key: string): string {
  const i = 20
  return key.slice(0, i) + (key[i] === 'a' ? 'b' : 'a') + key.slice(i + 1)
}
