// Leak scanning (issue 18): the scan of a generated 200 MB tree (`scanForKeys`, in process: the
// walk, the search, every candidate's CRC32 and the lookup by hash) as a share of the
// throughput of `grep -rc mtry_` over the same tree in the same run (bar ≥ 50%); the whole
// `momentry scan DIR --json` run, start-up included, is printed beside it; and
// `scan --git --all` over a generated 5,000-commit history (in process too) against `git log
// --all -p | grep -c mtry_` (which sees each change once, as a diff). Both count the planted live keys: a figure
// whose scan misses one is a failure, whatever its speed.
import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { env, median } from '../lib.js'

export const name = 'scan'

/** Run a process to its end; its time, exit code and stdout. */
function timed(cmd, args, options = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], ...options })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.once('error', reject)
    child.once('exit', (code) => resolve({ ms: performance.now() - started, code, out, err }))
  })
}

/** About `size` bytes of source-like text, different per file, with `mtry_` mentions that are not keys. */
function filler(i, size = 100_000) {
  const lines = []
  for (let l = 0, length = 0; length < size; l++) {
    const n = (i * 7919 + l * 104_729) % 1_000_003
    const line = l % 97 === 0 ? `  // keys look like mtry_svc_… (see docs); row ${n}` : `  const v${l} = compute(${n}, "${n.toString(36).repeat(6)}") // ${(n * 31).toString(16)}`
    lines.push(line)
    length += line.length + 1
  }
  return lines.join('\n')
}

export async function makeTree(dir, files, keys) {
  for (let i = 0; i < files; i++) {
    const sub = join(dir, `pkg-${i % 20}`, `mod-${i % 7}`)
    mkdirSync(sub, { recursive: true })
    const planted = i % Math.floor(files / keys.length) === 0 && i / Math.floor(files / keys.length) < keys.length ? `\nexport const KEY = '${keys[i / Math.floor(files / keys.length)]}'\n` : ''
    writeFileSync(join(sub, `file-${i}.ts`), filler(i) + planted)
  }
}

/** A history of `commits` commits through `git fast-import`: each changes one of 200 files; some add a key, later removed. */
export async function makeHistory(dir, commits, keys) {
  await timed('git', ['init', '-q', dir])
  let stream = ''
  let mark = 0
  for (let c = 0; c < commits; c++) {
    const file = `src/f${c % 200}.txt`
    const keyAt = c % Math.floor(commits / keys.length) === 0 ? keys[c / Math.floor(commits / keys.length)] : undefined
    const body = `${filler(c, 2000)}\n${keyAt ? `token=${keyAt}\n` : ''}`
    stream += `blob\nmark :${++mark}\ndata ${Buffer.byteLength(body)}\n${body}\n`
    const blob = mark
    stream += `commit refs/heads/${c % 10 === 9 ? 'side' : 'main'}\nmark :${++mark}\ncommitter bench <bench@example.com> ${1_900_000_000 + c} +0000\ndata 8\ncommit ${c % 10}\n`
    stream += `M 100644 :${blob} ${file}\n\n`
  }
  await new Promise((resolve, reject) => {
    const child = spawn('git', ['-C', dir, 'fast-import', '--quiet'], { stdio: ['pipe', 'ignore', 'pipe'] })
    let err = ''
    child.stderr.on('data', (d) => (err += d))
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`git fast-import: ${err}`))))
    child.stdin.end(stream)
  })
  await timed('git', ['-C', dir, 'checkout', '-q', 'main'])
}

const liveFound = (out) => JSON.parse(out).items.filter((f) => f.live).length

export async function run(b) {
  b.say('scan…')
  const work = await mkdtemp(join(tmpdir(), 'mtry-bench-scan-'))
  try {
    const files = b.quick ? 400 : 2000
    const planted = b.keys.slice(0, 20)
    const tree = join(work, 'tree')
    await makeTree(tree, files, planted)
    const rounds = b.quick ? 3 : 5
    const grep = []
    const ours = []
    const cli = []
    let found = 0
    const core = b.newCore()
    try {
      for (let i = 0; i < rounds; i++) {
        const g = await timed('grep', ['-rc', 'mtry_', tree])
        if (g.code !== 0) throw new Error(`grep exited ${g.code}: ${g.err}`)
        grep.push(g.ms)
        const t0 = performance.now()
        const { result } = await b.lib.scanForKeys(core.ctx, { paths: [tree], cwd: tree })
        ours.push(performance.now() - t0)
        found = result.live
        const s = await timed(process.execPath, [b.bin, 'scan', tree, '--json'])
        if (s.code !== 3 || liveFound(s.out) !== planted.length) throw new Error(`scan exited ${s.code}: ${s.err.slice(0, 300)}`)
        cli.push(s.ms)
      }
    } finally {
      await core.close()
    }
    const mb = (files * 100_000) / 1e6
    const share = median(grep) / median(ours)
    b.record(
      `scan: ${mb.toFixed(0)} MB tree, ${files} files`,
      `${median(ours).toFixed(0)}`,
      `ms (median of ${rounds}; ${((mb * 1000) / median(ours)).toFixed(0)} MB/s; whole CLI run ${median(cli).toFixed(0)} ms; ${found}/${planted.length} planted keys found)`,
      `${median(grep).toFixed(0)} ms`,
      'grep -rc mtry_',
      share >= 0.5 && found === planted.length,
      `≥ 50% of grep's throughput (got ${(share * 100).toFixed(0)}%)`,
    )

    const commits = b.quick ? 1000 : 5000
    const repo = join(work, 'repo')
    await makeHistory(repo, commits, planted)
    const logGrep = []
    const history = []
    const historyCli = []
    const gitCore = b.newCore()
    try {
      for (let i = 0; i < Math.min(rounds, 3); i++) {
        const g = await timed('sh', ['-c', 'git log --all -p --no-color | grep -c mtry_'], { cwd: repo })
        logGrep.push(g.ms)
        const t0 = performance.now()
        const { result } = await b.lib.scanForKeys(gitCore.ctx, { git: { repo, allRefs: true }, cwd: repo })
        history.push(performance.now() - t0)
        found = result.live
        const s = await timed(process.execPath, [b.bin, 'scan', '--git', '--all', '--json'], { cwd: repo })
        if (s.code !== 3 || liveFound(s.out) !== planted.length) throw new Error(`scan --git exited ${s.code}: ${s.err.slice(0, 300)}`)
        historyCli.push(s.ms)
      }
    } finally {
      await gitCore.close()
    }
    const ratio = median(history) / median(logGrep)
    b.record(
      `scan --git --all: ${commits} commits`,
      `${median(history).toFixed(0)}`,
      `ms (median of ${history.length}; whole CLI run ${median(historyCli).toFixed(0)} ms; ${found}/${planted.length} planted keys found)`,
      `${median(logGrep).toFixed(0)} ms`,
      'git log --all -p | grep -c mtry_',
      ratio <= 1 && found === planted.length,
      `≤ 1× (got ${ratio.toFixed(2)}×): each blob is read once, where git log -p diffs every commit`,
    )
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}
