import type { CoreContext } from '../context.js'
import type { AnomalyAlert } from '../anomalies/anomaly-view.js'
import type { FeedState } from './alert-feed.js'
import { openAlertFeed } from './alert-feed.js'
import type { DashboardSnapshot, WatchAlert } from './dashboard.js'
import { loadDashboard, toWatchAlert } from './dashboard.js'
import { anomaliesSeenSince } from './repo.js'

export type PostgresState = 'connecting' | 'live' | 'down'

export interface WatchHandlers {
  /** A live alert (Redis or NOTIFY), or — while the feed is down — one found by polling PostgreSQL. */
  onAlert(alert: AnomalyAlert | WatchAlert, source: 'live' | 'poll'): void
  /** The live feed's state (`watch.via` says where it comes from). */
  onFeed(state: FeedState, detail?: string): void
  onPostgres(state: PostgresState, detail?: string): void
  /** Only asked for by the dashboard; line mode needs just the alerts. */
  onSnapshot?(snapshot: DashboardSnapshot): void
}

export interface WatchOptions {
  /** How often to refresh from PostgreSQL (and poll for alerts while the live feed is down). */
  intervalMs?: number
  /** How often the live feed's connection is tried again. */
  feedRetryMs?: number
}

export interface Watch {
  readonly channel: string
  readonly via: 'Redis' | 'PostgreSQL'
  /** Refresh from PostgreSQL now (after an action, say). */
  refresh(): Promise<void>
  close(): Promise<void>
}

/**
 * The engine behind `momentry watch`: live alerts (the Redis channel, or PostgreSQL NOTIFY
 * without Redis), a periodic refresh from PostgreSQL, and — while the live feed is down — a
 * polling feed of anomalies seen since the last look, so that nothing is missed. Connection
 * changes are reported as they happen; both connections recover by themselves.
 */
export function startWatch(ctx: CoreContext, handlers: WatchHandlers, options: WatchOptions = {}): Watch {
  const intervalMs = options.intervalMs ?? 5000
  let feedState: FeedState = 'connecting'
  let postgresState: PostgresState = 'connecting'
  let cursor = ctx.clock.now()
  let closed = false
  let running: Promise<void> | undefined
  let soon: NodeJS.Timeout | undefined

  const feed = openAlertFeed(
    ctx,
    {
      onAlert(alert) {
        handlers.onAlert(alert, 'live')
        // A burst of alerts asks for one refresh, not one per alert.
        if (handlers.onSnapshot && !soon) soon = setTimeout(() => void tick().finally(() => (soon = undefined)), 1000)
      },
      onState(state, detail) {
        feedState = state
        handlers.onFeed(state, detail)
      },
    },
    { retryMs: options.feedRetryMs },
  )

  const setPostgres = (state: PostgresState, detail?: string) => {
    if (state === postgresState && state === 'live') return
    postgresState = state
    handlers.onPostgres(state, detail)
  }

  const round = async () => {
    const startedAt = ctx.clock.now()
    try {
      if (feedState === 'live') cursor = startedAt
      else {
        for (const a of await anomaliesSeenSince(ctx.sql, cursor, 500)) {
          handlers.onAlert(toWatchAlert(a), 'poll')
          cursor = new Date(a.lastSeenAt)
        }
      }
      if (handlers.onSnapshot) handlers.onSnapshot(await loadDashboard(ctx, { redis: feed.redis() }))
      setPostgres('live')
    } catch (error) {
      setPostgres('down', (error as Error).message)
    }
  }
  const tick = (): Promise<void> => {
    if (closed) return Promise.resolve()
    running ??= round().finally(() => (running = undefined))
    return running
  }

  void tick()
  const timer = setInterval(() => void tick(), intervalMs)

  return {
    channel: feed.channel,
    via: feed.via,
    async refresh() {
      await running
      await tick()
    },
    async close() {
      closed = true
      clearInterval(timer)
      clearTimeout(soon)
      await running
      await feed.close()
    },
  }
}
