// Run the built CLI inside the mocha process: the same oclif entry as `bin/run.js`
// (commands from dist/, the command_not_found hook, oclif's top-level error handler), with
// what a process owns — stdin, env, stdout/stderr, the exit code, TTY-ness — lent to one run
// and given back afterwards. Only writes made on behalf of the run are its output; mocha's
// own (a timeout reported while a run hangs) still reach the terminal. A process-wide
// resource cannot be lent to two runs at once, so runs take turns; tests that need runs at
// the same time spawn real processes.
import { AsyncLocalStorage } from 'node:async_hooks'
import { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'

import { Config, run } from '@oclif/core'
import { Exit, handle } from '@oclif/core/handle'

import type { CliOptions, CliResult } from './cli.js'

const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

// Loaded once per test run: reading package.json, the manifest and the help plugin is most
// of what a start-up costs. oclif reloads from it cheaply for each command.
let config: Promise<Config> | undefined
let turn: Promise<unknown> = Promise.resolve()

interface Output {
  stdout: string
  stderr: string
  /** False once the run has finished: a line written after that is nobody's output. */
  open: boolean
}
/** Which run a write is made on behalf of: mocha's reporter writes on behalf of none. */
const writer = new AsyncLocalStorage<Output>()

/** Run one command in this process; resolves when it has finished, as a process would exit. */
export function runInProcess(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const mine = turn.then(() => runNow(args, options))
  turn = mine.catch(() => {})
  return mine
}

async function runNow(args: string[], options: CliOptions): Promise<CliResult> {
  config ??= Config.load(BIN)
  const loaded = await config
  const output: Output = { stdout: '', stderr: '', open: true }
  let exited: number | undefined
  const listeners = Object.fromEntries(SIGNALS.map((s) => [s, process.listeners(s)]))
  const restore = [
    lendEnv(options.env ?? {}),
    // A spawned run's stdin is a pipe that ends after `input`; readers take process.stdin at call time.
    lend(process, 'stdin', pipeFrom(options.input ?? '') as unknown as typeof process.stdin),
    // stdout and stderr are pipes too: not terminals, whatever mocha itself writes to.
    lend(process.stdout, 'isTTY', false),
    lend(process.stderr, 'isTTY', false),
    lend(process.stdout, 'write', divert(process.stdout, 'stdout')),
    lend(process.stderr, 'write', divert(process.stderr, 'stderr')),
    // What would end the process ends the run instead; oclif's handler calls this after printing.
    lend(Exit, 'exit', ((code = 0) => void (exited ??= code)) as typeof Exit.exit),
  ]
  // A command that keeps running (serve, watch) waits for a signal nobody sends to a run in
  // this process: hand it one at once, so that it stops cleanly, and fail the run below.
  const awaited: string[] = []
  const onListener = (event: string | symbol, listener: (signal: string) => void) => {
    if (!(SIGNALS as readonly (string | symbol)[]).includes(event) || writer.getStore() !== output) return
    awaited.push(String(event))
    setImmediate(() => listener(String(event)))
  }
  process.on('newListener', onListener)
  const exitCodeBefore = process.exitCode
  process.exitCode = undefined
  let code: number
  try {
    // bin/run.js is `execute()`: run, and hand whatever escapes to oclif's handler.
    await writer.run(output, () => run(args, loaded).catch(handle))
    code = exited ?? Number(process.exitCode ?? 0)
  } finally {
    output.open = false
    process.exitCode = exitCodeBefore
    process.off('newListener', onListener)
    for (const undo of restore.reverse()) undo()
    for (const signal of SIGNALS) for (const l of process.listeners(signal)) if (!listeners[signal]!.includes(l)) process.removeListener(signal, l)
  }
  if (awaited.length) {
    throw new Error(`\`momentry ${args.join(' ')}\` waits for ${awaited.join('/')}, which only a real process gets: start it with spawnCli or startServe`)
  }
  const { stdout, stderr } = output
  let json: unknown
  try {
    json = JSON.parse(stdout)
  } catch {
    json = undefined
  }
  return { code, stdout, stderr, json }
}

/** A readable that ends after `input`, in pipe-sized chunks (a reader may stop early). */
function pipeFrom(input: string | Buffer): Readable {
  const bytes = typeof input === 'string' ? Buffer.from(input) : input
  return Readable.from(
    (function* () {
      for (let at = 0; at < bytes.length; at += 65_536) yield bytes.subarray(at, at + 65_536)
    })(),
    { objectMode: false },
  )
}

/** The stream's write, but what a run writes is kept as that run's output instead. */
function divert(stream: NodeJS.WriteStream, name: 'stdout' | 'stderr'): typeof process.stdout.write {
  const write = stream.write
  return function (this: unknown, chunk: string | Uint8Array, encoding?: BufferEncoding | ((err?: Error | null) => void), callback?: (err?: Error | null) => void) {
    const output = writer.getStore()
    if (!output?.open) return Reflect.apply(write, stream, [chunk, encoding, callback].filter((a) => a !== undefined))
    output[name] += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString(typeof encoding === 'string' ? encoding : 'utf8')
    const done = typeof encoding === 'function' ? encoding : callback
    if (done) process.nextTick(done)
    return true
  } as typeof process.stdout.write
}

/** Give `target[key]` a value for the run; the returned function puts the original back. */
function lend<T extends object, K extends keyof T>(target: T, key: K, value: T[K]): () => void {
  const own = Object.getOwnPropertyDescriptor(target, key)
  Object.defineProperty(target, key, { value, configurable: true, writable: true, enumerable: own?.enumerable ?? true })
  return () => {
    if (own) Object.defineProperty(target, key, own)
    else Reflect.deleteProperty(target, key)
  }
}

/** Env overrides as a spawned run got them: `undefined` removes a variable. */
function lendEnv(env: Record<string, string | undefined>): () => void {
  const before = Object.entries(env).map(([name]) => [name, Object.hasOwn(process.env, name), process.env[name]] as const)
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
  }
  return () => {
    for (const [name, had, value] of before) {
      if (had) process.env[name] = value
      else delete process.env[name]
    }
  }
}
