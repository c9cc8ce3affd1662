import { expect } from 'chai'

import type { Sql } from '../../src/core/db/connect.js'
import { connectPostgres } from '../../src/core/db/connect.js'
import type { Listener, ListenHandlers } from '../../src/core/db/listener.js'
import { listenTo } from '../../src/core/db/listener.js'
import { openTestSql, testDatabaseUrl } from '../helpers/db.js'
import type { TcpProxy } from '../helpers/tcp-proxy.js'
import { startTcpProxy } from '../helpers/tcp-proxy.js'

const until = async (what: string, ok: () => boolean | Promise<boolean>, ms = 5000) => {
  const end = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** What a listener told its handlers, in order. */
function recorder() {
  const events: string[] = []
  const heard: [string, string][] = []
  const handlers: ListenHandlers = {
    onNotify: (channel, payload) => void heard.push([channel, payload]),
    onUp: (reconnected) => void events.push(reconnected ? 'up again' : 'up'),
    onDown: (reason) => void events.push(`down: ${reason}`),
  }
  return { events, heard, handlers }
}

describe('listenTo (a LISTEN connection that says when it cannot hear; real PostgreSQL)', function () {
  this.timeout(20_000)
  const CHANNELS = ['momentry_test_a', 'momentry_test_b', 'momentry_test_c']
  let sql: Sql
  let proxy: TcpProxy
  /** A pool that reaches PostgreSQL through the proxy; the listener copies its settings. */
  let viaProxy: Sql
  let listener: Listener | undefined

  before(async () => {
    sql = openTestSql()
    const url = new URL(testDatabaseUrl())
    proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) })
    url.host = `127.0.0.1:${proxy.port}`
    viaProxy = connectPostgres(url.toString())
  })
  afterEach(async () => {
    proxy.dropWhen(undefined)
    await listener?.close()
    listener = undefined
  })
  after(async () => {
    await viaProxy.end()
    await proxy.close()
    await sql.end()
  })

  const notifyAll = (payload: string) => Promise.all(CHANNELS.map((c) => sql`select pg_notify(${c}, ${payload})`))
  const heardAll = (heard: [string, string][], payload: string) => CHANNELS.every((c) => heard.some(([ch, p]) => ch === c && p === payload))

  it('given a connection that goes half-open (nothing arrives, nothing closes), then the heartbeat misses, it says down, reconnects and hears again', async () => {
    const r = recorder()
    listener = await listenTo(viaProxy, CHANNELS, r.handlers, { retryMs: 50, heartbeatMs: 100, heartbeatTimeoutMs: 300 })
    expect(r.events).to.deep.equal(['up'])
    await notifyAll('before')
    await until('the first notifications', () => heardAll(r.heard, 'before'))
    // Heartbeats have come back meanwhile without saying anything.
    await new Promise((resolve) => setTimeout(resolve, 250))
    expect(r.events).to.deep.equal(['up'])

    const frozenAt = Date.now()
    proxy.freeze()
    await until('the listener to say it is down', () => r.events.length > 1)
    expect(r.events[1]).to.match(/^down: no heartbeat back within 300 ms/)
    expect(Date.now() - frozenAt).to.be.below(1500)
    expect(listener.up).to.equal(false)
    await until('the listener to be back', () => r.events.length > 2)
    expect(r.events[2]).to.equal('up again')
    expect(listener.up).to.equal(true)

    await notifyAll('after')
    await until('the notifications after the reconnect', () => heardAll(r.heard, 'after'))
    // Its own heartbeats are not handed on.
    expect(r.heard.every(([channel]) => CHANNELS.includes(channel))).to.equal(true)
  })

  for (const [when, from, match] of [
    ['as the second LISTEN is sent', 'client', (chunk: Buffer) => chunk.includes(`listen "${CHANNELS[1]}"`)],
    // The first LISTEN's answer arrives, then the connection ends before the second is sent:
    // that one would go out on a fresh connection, without the first.
    ['just after the first LISTEN is answered', 'server', (chunk: Buffer) => chunk.includes('LISTEN\0')],
  ] as const) {
    it(`given the connection dropped ${when}, then it is up only once every channel is listened to on one connection, and all are heard`, async () => {
      const r = recorder()
      let dropped = 0
      proxy.dropWhen((chunk) => dropped === 0 && match(chunk) && ++dropped === 1, from)
      listener = await listenTo(viaProxy, CHANNELS, r.handlers, { retryMs: 50 })
      await until('the listener to be up', () => listener!.up)
      expect(dropped).to.equal(1)
      expect(r.events).to.have.length(2)
      expect(r.events[0]).to.match(/^down: /)
      expect(r.events[1]).to.equal('up')
      await notifyAll('each')
      await until('a notification on every channel', () => heardAll(r.heard, 'each'))
    })
  }

  it('given close(), then its connection is gone from PostgreSQL and nothing reconnects', async () => {
    const r = recorder()
    // Counted against a baseline: the half-open test's server sessions outlive their clients.
    const listening = () => sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = 'momentry-listen'`.then(([row]) => row!.n - baseline)
    let baseline = 0
    baseline = await listening()
    listener = await listenTo(sql, CHANNELS, r.handlers, { retryMs: 50, heartbeatMs: 50 })
    expect(await listening()).to.equal(1)
    await listener.close()
    await until('the connection to end', async () => (await listening()) === 0)
    // Longer than a retry and a heartbeat: had anything been left running, it would be back.
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(await listening()).to.equal(0)
    expect(r.events).to.deep.equal(['up'])
    expect(listener.up).to.equal(false)
  })
})
