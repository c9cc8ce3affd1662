import type { AnomalyAlert } from '../anomalies/anomaly-view.js'
import { anomalyAlertSchema } from '../anomalies/anomaly-view.js'
import type { CoreContext } from '../context.js'
import type { Redis } from '../redis.js'
import { closeRedis, connectRedis } from '../redis.js'

export type RedisFeedState = 'off' | 'connecting' | 'live' | 'reconnecting' | 'down'

export interface AlertFeedHandlers {
  onAlert(alert: AnomalyAlert): void
  onState(state: RedisFeedState, detail?: string): void
}

export interface AlertFeed {
  readonly channel: string
  /** A command connection (not the subscriber) while Redis is up; undefined otherwise. */
  redis(): Redis | undefined
  close(): Promise<void>
}

/**
 * Subscribe to the live alert channel on connections of its own that reconnect by
 * themselves — also when Redis is down at start (retried every `retryMs`). Without
 * `REDIS_URL` the state is `off` and nothing is opened.
 */
export function openAlertFeed(ctx: Pick<CoreContext, 'config' | 'log'>, handlers: AlertFeedHandlers, options: { retryMs?: number } = {}): AlertFeed {
  const channel = `${ctx.config.redisPrefix}anomaly:alerts`
  const url = ctx.config.redisUrl
  let client: Redis | undefined
  let subscriber: Redis | undefined
  let retry: NodeJS.Timeout | undefined
  let closed = false
  let warnedMalformed = false

  const onMessage = (message: string) => {
    let parsed: ReturnType<typeof anomalyAlertSchema.safeParse>
    try {
      parsed = anomalyAlertSchema.safeParse(JSON.parse(message))
    } catch {
      parsed = anomalyAlertSchema.safeParse(undefined)
    }
    if (parsed.success) handlers.onAlert(parsed.data)
    else if (!warnedMalformed) {
      warnedMalformed = true
      ctx.log.warn(`ignored a malformed message on ${channel} (and will ignore any more silently)`)
    }
  }

  const connect = async () => {
    if (closed || !url) return
    handlers.onState('connecting')
    let c: Redis | undefined
    let s: Redis | undefined
    try {
      c = await connectRedis(url, ctx.log, { reconnect: true })
      s = c.duplicate()
      s.on('error', () => {})
      s.on('reconnecting', () => handlers.onState('reconnecting'))
      s.on('ready', () => client && handlers.onState('live'))
      await s.connect()
      await s.subscribe(channel, onMessage)
      if (closed) throw new Error('closed')
      client = c
      subscriber = s
      handlers.onState('live')
    } catch (error) {
      await Promise.all([c && closeRedis(c), s && closeRedis(s)])
      if (closed) return
      handlers.onState('down', (error as Error).message)
      retry = setTimeout(() => void connect(), options.retryMs ?? 5000)
    }
  }

  if (url) void connect()
  else handlers.onState('off')

  return {
    channel,
    redis: () => (client?.isReady ? client : undefined),
    async close() {
      closed = true
      clearTimeout(retry)
      await Promise.all([subscriber && closeRedis(subscriber), client && closeRedis(client)])
    },
  }
}
