import { execFile } from 'node:child_process'
import { readFile, stat } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname } from 'node:path'
import { promisify } from 'node:util'

import { ConfigError } from '../errors.js'

/** Who runs the embedded server. */
export interface ServerUser {
  name: string
  uid: number
  gid: number
  /** True when this process runs as root and the server runs as `name` instead. */
  dedicated: boolean
  /** Its home directory (HOME of the server's programs), when known. */
  home?: string
}

/**
 * The environment of the programs momentry starts (initdb, postgres, the idle watchdog): the
 * search path, locale and time zone, a temporary directory and HOME — not this process's
 * whole environment, which may hold secrets (tokens, passwords, DATABASE_URL of elsewhere).
 */
export function childEnv(home: string | undefined): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && (['PATH', 'LANG', 'TZ', 'TMPDIR'].includes(name) || name.startsWith('LC_'))) env[name] = value
  }
  if (home) env.HOME = home
  return env
}

/** The unprivileged OS user the embedded server runs as when momentry runs as root. */
export const SERVER_USER = 'momentry'

async function lookup(name: string): Promise<{ uid: number; gid: number; home?: string } | undefined> {
  const passwd = await readFile('/etc/passwd', 'utf8').catch(() => '')
  for (const line of passwd.split('\n')) {
    const [user, , uid, gid, , home] = line.split(':')
    if (user === name && uid && gid) return { uid: Number(uid), gid: Number(gid), home: home || undefined }
  }
  return undefined
}

/**
 * The user the server runs as: this process's own user, or — as root, which PostgreSQL
 * refuses — the dedicated system user `momentry`, created (no home, no login shell) the
 * first time. Returns whether it was created now, so that it is said once.
 */
export async function serverUser(): Promise<ServerUser & { created: boolean }> {
  const uid = process.getuid?.() ?? -1
  if (uid !== 0) return { name: 'self', uid, gid: process.getgid?.() ?? -1, dedicated: false, created: false, home: homedir() }
  const found = await lookup(SERVER_USER)
  if (found) return { name: SERVER_USER, ...found, dedicated: true, created: false }
  const run = promisify(execFile)
  const attempts: [string, string[]][] = [
    ['useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', SERVER_USER]],
    ['adduser', ['-S', '-D', '-H', '-h', '/nonexistent', '-s', '/sbin/nologin', SERVER_USER]], // busybox (Alpine)
  ]
  const failures: string[] = []
  for (const [cmd, args] of attempts) {
    try {
      await run(cmd, args)
      break
    } catch (error) {
      failures.push(`${cmd}: ${((error as { stderr?: string }).stderr || (error as Error).message).trim().split('\n')[0]}`)
    }
  }
  const made = await lookup(SERVER_USER)
  if (!made) {
    throw new ConfigError(
      `PostgreSQL refuses to run as root, and the unprivileged user ${SERVER_USER} for the embedded server could not be created (${failures.join('; ')})`,
      `Create it (\`useradd --system ${SERVER_USER}\`), run momentry as a normal user, or set DATABASE_URL to use a PostgreSQL server`,
    )
  }
  return { name: SERVER_USER, ...made, dedicated: true, created: true }
}

/**
 * The first directory on the way to `path` that `user` may not enter (no execute
 * permission for it), or undefined when it can reach `path`. Root's home (0700) is the
 * usual one: the server's files must live where its user can reach them.
 */
export async function blockedOnTheWay(path: string, user: { uid: number; gid: number }): Promise<{ dir: string; mode: string } | undefined> {
  const dirs: string[] = []
  for (let d = dirname(path); ; d = dirname(d)) {
    dirs.unshift(d)
    if (dirname(d) === d) break
  }
  for (const dir of dirs) {
    const st = await stat(dir).catch(() => undefined)
    if (!st) return undefined // not made yet: it will be made reachable
    const bits = st.uid === user.uid ? 0o100 : st.gid === user.gid ? 0o010 : 0o001
    if (!(st.mode & bits)) return { dir, mode: (st.mode & 0o777).toString(8).padStart(4, '0') }
  }
  return undefined
}
