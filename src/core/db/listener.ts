import { randomBytes } from 'node:crypto'

import postgres from 'postgres'

import type { Sql } from './connect.js'

export interface ListenHandlers {
  onNotify(channel: string, payload: string): void
  /** Every channel is listened to: the first time, and after each reconnect (`reconnected`). */
  onUp(reconnected: boolean): void
  /** The connection is gone (or never came): notifications sent from now until `onUp` are lost. */
  onDown(reason: string, error?: unknown): void
}

export interface ListenOptions {
  /** Wait between reconnect attempts (default 250 ms). */
  retryMs?: number
  /** How often the connection proves that it still delivers, by notifying itself (default 10 s). */
  heartbeatMs?: number
  /** How long a heartbeat may take to come back before the connection counts as dead (default 5 s; the next one is sent `heartbeatMs` after it is back). */
  heartbeatTimeoutMs?: number
}

export interface Listener {
  readonly up: boolean
  close(): Promise<void>
}

const quoted = (channel: string) => `"${channel.replace(/"/g, '""')}"`

/**
 * A connection of its own that LISTENs on `channels`, made with the pool's settings (server
 * or embedded socket alike). postgres.js's `listen()` re-listens after a drop but never says
 * that the connection was down, and a process that cannot hear invalidations must stop
 * trusting what it remembers meanwhile: this one says both, and keeps reconnecting (every
 * `retryMs`) until closed.
 *
 * A connection that dies without closing (a half-open TCP connection: a host or NAT that
 * went away) delivers nothing and says nothing, so every `heartbeatMs` the listener NOTIFYs
 * itself on a channel of its own; a heartbeat that is not back within `heartbeatTimeoutMs`
 * counts as a drop. Each connection is a generation: it is up only once all its channels are
 * listened to on it, and whatever an older one reports (its close, a late LISTEN, a
 * notification) is ignored. Resolves once listening, or after the first failed attempt (then
 * `onDown` has been called and retries go on).
 */
export async function listenTo(pool: Sql, channels: readonly string[], h: ListenHandlers, options: ListenOptions = {}): Promise<Listener> {
  const retryMs = options.retryMs ?? 250
  const heartbeatMs = options.heartbeatMs ?? 10_000
  const heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 5_000
  const poolOptions = pool.options as unknown as postgres.Options<Record<string, never>> & { connect_timeout?: number; connection?: Record<string, unknown> }
  // An attempt that neither connects nor fails (a server that stopped answering) is given up too.
  const attemptMs = (poolOptions.connect_timeout ?? 30) * 1000 + heartbeatTimeoutMs
  // Random, so that no other listener's heartbeat (or anybody's NOTIFY) passes for this one's.
  const heartbeatChannel = `momentry_heartbeat_${randomBytes(8).toString('hex')}`

  let closed = false
  let up = false
  let ever = false
  let saidDown = false
  /** The current connection's number; bumped when it is dropped, so nothing of it counts any more. */
  let generation = 0
  let conn: postgres.Sql | undefined
  let attempt: Promise<void> | undefined
  let retryTimer: NodeJS.Timeout | undefined
  let beatTimer: NodeJS.Timeout | undefined
  let deadlineTimer: NodeJS.Timeout | undefined
  let beats = 0
  let awaitedBeat: string | undefined

  const stopTimers = () => {
    clearTimeout(retryTimer)
    clearTimeout(beatTimer)
    clearTimeout(deadlineTimer)
    awaitedBeat = undefined
  }

  /** Drop connection `gen` (if it is still the current one) and try again in `retryMs`. */
  const down = (gen: number, reason: string, error?: unknown) => {
    if (closed || gen !== generation) return
    generation++
    stopTimers()
    const dead = conn
    conn = undefined
    // At once, without waiting for an answer: a dead connection would never give one.
    void dead?.end({ timeout: 0 }).catch(() => {})
    up = false
    if (!saidDown) h.onDown(reason, error)
    saidDown = true
    retryTimer = setTimeout(() => void connect(), retryMs)
    retryTimer.unref()
  }

  const scheduleBeat = (gen: number) => {
    clearTimeout(beatTimer)
    beatTimer = setTimeout(() => {
      if (closed || gen !== generation || !conn) return
      const beat = String(++beats)
      awaitedBeat = beat
      deadlineTimer = setTimeout(() => down(gen, `no heartbeat back within ${heartbeatTimeoutMs} ms: the LISTEN connection stopped delivering`), heartbeatTimeoutMs)
      deadlineTimer.unref()
      conn`select pg_notify(${heartbeatChannel}, ${beat})`.catch((error: Error) => down(gen, error.message, error))
    }, heartbeatMs)
    beatTimer.unref()
  }

  const heard = (gen: number, channel: string, payload: string) => {
    if (gen !== generation) return
    if (channel !== heartbeatChannel) return h.onNotify(channel, payload)
    if (payload !== awaitedBeat) return
    awaitedBeat = undefined
    clearTimeout(deadlineTimer)
    scheduleBeat(gen)
  }

  const connect = (): Promise<void> =>
    (attempt = (async () => {
      if (closed) return
      const gen = ++generation
      const c = postgres({
        ...poolOptions,
        max: 1,
        idle_timeout: undefined,
        max_lifetime: null,
        fetch_types: false,
        connection: { ...poolOptions.connection, application_name: 'momentry-listen' },
        onnotify: (channel: string, payload: string) => heard(gen, channel, payload),
        onclose: () => down(gen, 'the LISTEN connection closed'),
      } as postgres.Options<Record<string, never>>)
      conn = c
      const giveUp = setTimeout(() => down(gen, `PostgreSQL did not confirm LISTEN within ${attemptMs} ms`), attemptMs)
      giveUp.unref()
      try {
        for (const channel of [heartbeatChannel, ...channels]) await c.unsafe(`listen ${quoted(channel)}`)
        // Dropped meanwhile (its down() has scheduled the next attempt), or closed: not up.
        if (closed || gen !== generation) return
        const reconnected = ever
        ever = true
        up = true
        saidDown = false
        scheduleBeat(gen)
        h.onUp(reconnected)
      } catch (error) {
        down(gen, (error as Error).message, error)
      } finally {
        clearTimeout(giveUp)
      }
    })())

  await connect()
  return {
    get up() {
      return up
    },
    async close() {
      if (closed) return
      closed = true
      stopTimers()
      generation++
      up = false
      const last = conn
      conn = undefined
      await last?.end({ timeout: 1 }).catch(() => {})
      await attempt
    },
  }
}
