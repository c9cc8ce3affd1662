import postgres from 'postgres'

import type { Sql } from './connect.js'

export interface ListenHandlers {
  onNotify(channel: string, payload: string): void
  /** Every channel is listened to: the first time, and after each reconnect (`reconnected`). */
  onUp(reconnected: boolean): void
  /** The connection is gone (or never came): notifications sent from now until `onUp` are lost. */
  onDown(reason: string, error?: unknown): void
}

export interface Listener {
  readonly up: boolean
  close(): Promise<void>
}

/**
 * A connection of its own that LISTENs on `channels`, made with the pool's settings (server
 * or embedded socket alike). postgres.js's `listen()` re-listens after a drop but never says
 * that the connection was down, and a process that cannot hear invalidations must stop
 * trusting what it remembers meanwhile: this one says both, and keeps reconnecting (every
 * `retryMs`, 250 ms by default) until closed. Resolves once listening, or after the first
 * failed attempt (then `onDown` has been called and retries go on).
 */
export async function listenTo(pool: Sql, channels: readonly string[], h: ListenHandlers, options: { retryMs?: number } = {}): Promise<Listener> {
  const retryMs = options.retryMs ?? 250
  let closed = false
  let up = false
  let ever = false
  let saidDown = false
  let timer: NodeJS.Timeout | undefined
  let attempt: Promise<void> | undefined

  const down = (reason: string, error?: unknown) => {
    if (closed) return
    if (!saidDown) h.onDown(reason, error)
    saidDown = true
    up = false
    clearTimeout(timer)
    timer = setTimeout(() => void connect(), retryMs)
    timer.unref()
  }

  const conn = postgres({
    ...(pool.options as unknown as postgres.Options<Record<string, never>>),
    max: 1,
    idle_timeout: undefined,
    max_lifetime: null,
    fetch_types: false,
    onnotify: (channel: string, payload: string) => h.onNotify(channel, payload),
    onclose: () => down('the LISTEN connection closed'),
  } as postgres.Options<Record<string, never>>)

  const connect = (): Promise<void> =>
    (attempt ??= (async () => {
      try {
        for (const channel of channels) await conn.unsafe(`listen "${channel.replace(/"/g, '""')}"`)
        if (closed) return
        const reconnected = ever
        ever = true
        up = true
        saidDown = false
        h.onUp(reconnected)
      } catch (error) {
        down((error as Error).message, error)
      }
    })().finally(() => (attempt = undefined)))

  await connect()
  return {
    get up() {
      return up
    },
    async close() {
      closed = true
      clearTimeout(timer)
      await attempt
      await conn.end({ timeout: 1 }).catch(() => {})
    },
  }
}
