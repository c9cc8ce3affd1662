// The generic file lock (src/core/file-lock.ts): one holder at a time, also when many waiters
// find a stale lock at once, and a lock whose pid the system has given to another process
// is taken over at once instead of waited for.
import type { ChildProcess } from 'node:child_process'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { expect } from 'chai'

import { ConfigError } from '../../src/core/errors.js'
import { withFileLock } from '../../src/core/file-lock.js'

describe('withFileLock', () => {
  let dir: string
  let lock: string
  const children: ChildProcess[] = []
  /** A live process that is not the lock's holder, as a reused pid would be. */
  const stranger = () => {
    const child = spawn('sleep', ['300'], { stdio: 'ignore' })
    children.push(child)
    return child.pid!
  }
  const startTimeOf = async (pid: number) => {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8')
    return text.slice(text.lastIndexOf(')') + 2).split(' ')[19]
  }
  /** A pid that no process has (one that ran and exited). */
  const deadPid = async () => {
    const child = spawn('true')
    await new Promise((r) => child.once('exit', r))
    return child.pid!
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mtry-lock-'))
    lock = join(dir, 'x.lock')
  })
  afterEach(async () => {
    for (const c of children.splice(0)) c.kill('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  /** Run `n` holders at once; resolves with the most that ever held the lock together. */
  async function contend(n: number): Promise<number> {
    let inside = 0
    let most = 0
    await Promise.all(
      Array.from({ length: n }, () =>
        withFileLock(lock, async () => {
          most = Math.max(most, ++inside)
          await new Promise((r) => setTimeout(r, 2))
          inside--
        }),
      ),
    )
    return most
  }

  it('given a stale lock of a dead process and 20 waiters at once, then it is taken over and they hold it one at a time', async () => {
    await writeFile(lock, String(await deadPid()))
    expect(await contend(20)).to.equal(1)
    expect(await stat(lock).catch(() => undefined), 'let go at the end').to.equal(undefined)
    expect(await stat(`${lock}.takeover`).catch(() => undefined)).to.equal(undefined)
  })

  it('given a lock whose pid now belongs to another process (start time differs, or a pid alone of another program), then it is taken at once', async () => {
    const other = stranger()
    for (const stale of [`${other} 1`, String(other)]) {
      await writeFile(lock, stale)
      const started = Date.now()
      expect(await withFileLock(lock, async () => 'held', { timeoutMs: 5000 })).to.equal('held')
      expect(Date.now() - started).to.be.below(1000)
    }
  })

  it('given a lock of a live holder, then a waiter gives up after its timeout with the error it was given', async () => {
    const holder = stranger()
    await writeFile(lock, `${holder} ${await startTimeOf(holder)}`)
    const error = await withFileLock(lock, async () => 'held', { timeoutMs: 200, busy: (pid) => new ConfigError(`held by ${pid}`) }).catch((e: unknown) => e)
    expect(error).to.be.instanceOf(ConfigError)
    expect((error as ConfigError).message).to.equal(`held by ${holder}`)
    expect(await readFile(lock, 'utf8'), 'left as it was').to.equal(`${holder} ${await startTimeOf(holder)}`)
  })
})
