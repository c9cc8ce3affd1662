import type { CoreContext } from '../context.js'
import type { AnomalyAlert } from '../anomalies/anomaly-view.js'
import type { RedisFeedState } from './alert-feed.js'
import { openAlertFeed } from './alert-feed.js'
import type { DashboardSnapshot, WatchAlert } from './dashboard.js'
import { loadDashboard, toWatchAlert } from './dashboard.js'
import { anomaliesSeenSince } from './repo.js'

export type PostgresState = 'connecting' | 'live' | 'down'

export interface WatchHandlers {
  /** A live alert from Redis, or — while Redis is off or down — one found by polling PostgreSQL. */
  onAlert(alert: AnomalyAlert | WatchAlert, source: 'redis' | 'poll'): void
  onRedis(state: RedisFeedState, detail?: string): void
  onPostgres(state: PostgresState, detail?: string): void
  /** Only asked for by the dashboard; line mode needs just the alerts. */
  onSnapshot?(snapshot: DashboardSnapshot): void
}

export interface WatchOptions {
  /** How often to refresh from PostgreSQL (and poll for alerts without Redis). */
  intervalMs?: number
  redisRetryMs?: number
}

export interface Watch {
  readonly channel: string
  /** Refresh from PostgreSQL now (after an action, say). */
  refresh(): Promise<void>
  close(): Promise<void>
}

/**
 * The engine behind `momentry watch`: live alerts from the Redis channel, a periodic
 * refresh from PostgreSQL, and — without Redis — a polling feed of anomalies seen since
 * the last look, so that the screen is never blank. Connection changes are reported as
 * they happen; both connections recover by themselves.
 */
export function startWatch(ctx: CoreContext, handlers: WatchHandlers, options: WatchOptions = {}): Watch {
  const intervalMs = options.intervalMs ?? 5000
  let redisState: RedisFeedState = 'connecting'
  let postgresState: PostgresState = 'connecting'
  let cursor = ctx.clock.now()
  let closed = false
  let running: Promise<void> | undefined
  let soon: NodeJS.Timeout | undefined

  const feed = openAlertFeed(
    ctx,
    {
      onAlert(alert) {
        handlers.onAlert(alert, 'redis')
        // A burst of alerts asks for one refresh, not one per alert.
        if (handlers.onSnapshot && !soon) soon = setTimeout(() => void tick().finally(() => (soon = undefined)), 1000)
      },
      onState(state, detail) {
        redisState = state
        handlers.onRedis(state, detail)
      },
    },
    { retryMs: options.redisRetryMs },
  )

  const setPostgres = (state: PostgresState, detail?: string) => {
    if (state === postgresState && state === 'live') return
    postgresState = state
    handlers.onPostgres(state, detail)
  }

  const round = async () => {
    const startedAt = ctx.clock.now()
    try {
      if (redisState === 'live') cursor = startedAt
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
