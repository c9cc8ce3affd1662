// SIGTERM to a `momentry serve` under validation load, beside a second instance that keeps
// serving, both on a private PostgreSQL and a private Redis. The instance told to stop must
// answer every request it has taken (in-flight ones, and any that arrive on its keep-alive
// connections while it drains), close its connections cleanly, flush its usage and exit 0; the
// other must enforce a revocation committed at the moment of the signal within 100 ms.
import { expect } from 'chai'
import type { Pool } from 'undici'

import type { ServeProcess } from '../helpers/serve.js'
import { startServe } from '../helpers/serve.js'
import { connect, refusedAfter, startLoad, Tally } from './load.js'
import type { PrivatePostgres, PrivateRedis } from './private-servers.js'
import { startPrivatePostgres, startPrivateRedis } from './private-servers.js'
import { note, untilReady } from './report.js'
import type { World } from './world.js'
import { acceptedAfterRevocation, expectExactAccounting, lastAcceptedMs, makeWorld } from './world.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('fault: SIGTERM to serve under validation load', function () {
  this.timeout(120_000)
  let pg: PrivatePostgres | undefined
  let redis: PrivateRedis | undefined
  let world: World | undefined
  const servers: ServeProcess[] = []
  const pools: Pool[] = []
  before(async () => {
    ;[pg, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis()])
  })
  after(async () => {
    await Promise.all(pools.map((p) => p.destroy()))
    await Promise.all(servers.map((s) => s.stop('SIGKILL')))
    await world?.close()
    await redis?.stop()
    await pg?.close()
  })

  it('given two serve instances under load, when one gets SIGTERM as a revocation commits, then it answers every request it took and exits 0, the other enforces the revocation within 100 ms, and usage and audit are exact', async () => {
    world = await makeWorld(pg!, redis!.url, 'term')
    const [a, b] = await Promise.all([startServe(world.env), startServe(world.env)])
    servers.push(a, b)
    const poolA = connect(a.url, 8)
    const poolB = connect(b.url, 2)
    const poller = connect(b.url, 1)
    pools.push(poolA, poolB, poller)
    const [onA, onB] = [new Tally(), new Tally()]
    for (const k of world.keys) for (const [t, p] of [[onA, poolA], [onB, poolB]] as const) expect((await t.verify(p, k)).valid, k.label).to.equal(true)
    for (const s of [a, b]) expect(await untilReady(s.url, 5_000)).to.be.below(5_000)

    // Eight keep-alive connections on the one that stops, every one busy when the signal comes.
    const loadA = startLoad(onA, poolA, world.keys, { connections: 8, pauseMs: 2 })
    const loadB = startLoad(onB, poolB, world.keys, { connections: 2 })
    await sleep(1_500)
    const exited = new Promise<number | null>((resolve) => a.child.once('exit', resolve))
    const committedAt = await world.revokeVictim()
    const signalledAt = performance.now()
    a.child.kill('SIGTERM')
    const enforcedMs = await refusedAfter(onB, poller, world.victim, committedAt)
    const code = await exited
    const exitedAt = performance.now()
    await loadA.stop()
    await sleep(1_000)
    await loadB.stop()

    const afterSignal = onA.answers.filter((x) => x.doneAt >= signalledAt)
    // After A has exited (and closed its listener), a new connection is refused: that is no
    // lost request. A request reset or cut off on a connection A had taken is.
    const refused = (x: { status: number; error?: string }) => x.status === 0 && x.error === 'ECONNREFUSED'
    const lost = onA.answers.filter((x) => x.status === 0 && !refused(x))
    note('sigterm', {
      requests: onA.answers.length + onB.answers.length,
      answersOfStopped: onA.summary(),
      answersOfOther: onB.summary(),
      answeredAfterSignal: afterSignal.filter((x) => x.status !== 0).length,
      lostOnStopped: lost.length,
      drainMs: Math.round(exitedAt - signalledAt),
      firstRefusalAfterCommitMs: Number(enforcedMs.toFixed(1)),
      lastAcceptedAfterCommitMs: { stopped: Number(lastAcceptedMs(onA, committedAt).toFixed(1)), other: Number(lastAcceptedMs(onB, committedAt).toFixed(1)) },
    })
    expect(code, a.stderr()).to.equal(0)
    expect(lost, `requests A took and never answered: ${JSON.stringify(onA.summary())}`).to.deep.equal([])
    expect(onA.answers.filter((x) => x.status !== 200 && !refused(x)), 'A answered every request it took with 200').to.deep.equal([])
    expect(onB.answers.filter((x) => x.status !== 200), 'B answered every request 200').to.deep.equal([])
    expect(enforcedMs, 'first REVOKED answer from B (ms after commit)').to.be.below(100)
    expect(acceptedAfterRevocation(Tally.merge(onA, onB), committedAt), 'answers accepting the victim > 100 ms after the revocation committed').to.equal(0)
    expect(b.child.exitCode, b.stderr()).to.equal(null)

    expect(await b.stop('SIGTERM'), b.stderr()).to.equal(0)
    for (const s of [a, b]) expect(s.stderr()).not.to.match(/unexpected error|INTERNAL/)
    await expectExactAccounting(world, Tally.merge(onA, onB))
  })
})
