import type { AnomalyAlert } from '../anomalies/anomaly-view.js'
import { anomalyAlertSchema } from '../anomalies/anomaly-view.js'
import { PG_CHANNELS, redisAlertChannel } from '../channels.js'
import type { CoreContext } from '../context.js'
import type { Listener } from '../db/listener.js'
import { listenTo } from '../db/listener.js'
import type { Redis } from '../redis.js'
import { closeRedis, connectRedis } from '../redis.js'

export type FeedState = 'connecting' | 'live' | 'reconnecting' | 'down'

export interface AlertFeedHandlers {
  onAlert(alert: AnomalyAlert): void
  onState(state: FeedState, detail?: string): void
}

export interface AlertFeed {
  /** Where alerts come from: the Redis channel (SPEC §6) when REDIS_URL is set, else PostgreSQL NOTIFY. */
  readonly via: 'Redis' | 'PostgreSQL'
  readonly channel: string
  /** A Redis command connection (not the subscriber) while Redis is up; undefined otherwise. */
  redis(): Redis | undefined
  close(): Promise<void>
}

/** Where live alerts come from for this configuration, and on which channel. */
export function alertSource(config: Pick<CoreContext['config'], 'redisUrl' | 'redisPrefix'>): { via: 'Redis' | 'PostgreSQL'; channel: string } {
  return config.redisUrl ? { via: 'Redis', channel: redisAlertChannel(config.redisPrefix) } : { via: 'PostgreSQL', channel: PG_CHANNELS.alerts }
}

/**
 * Live alerts as they are detected: from the Redis alert channel when Redis is configured
 * (its own connections, reconnecting by themselves — also when Redis is down at start,
 * retried every `retryMs`), else from PostgreSQL's `momentry_alerts` NOTIFY channel, which
 * every detecting process also sends. Messages are untrusted input: a malformed one is
 * dropped, said once.
 */
export function openAlertFeed(ctx: Pick<CoreContext, 'config' | 'log' | 'sql'>, handlers: AlertFeedHandlers, options: { retryMs?: number } = {}): AlertFeed {
  let warnedMalformed = false
  const onMessage = (channel: string) => (message: string) => {
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
  return ctx.config.redisUrl ? redisFeed(ctx, ctx.config.redisUrl, handlers, onMessage, options.retryMs ?? 5000) : postgresFeed(ctx, handlers, onMessage, options.retryMs ?? 1000)
}

function postgresFeed(ctx: Pick<CoreContext, 'sql'>, handlers: AlertFeedHandlers, onMessage: (channel: string) => (m: string) => void, retryMs: number): AlertFeed {
  const channel = PG_CHANNELS.alerts
  const deliver = onMessage(channel)
  let closed = false
  handlers.onState('connecting')
  // listenTo does not reject: a failed first attempt is an onDown, and it retries by itself.
  const listening: Promise<Listener> = listenTo(
    ctx.sql,
    [channel],
    {
      onNotify: (_c, payload) => deliver(payload),
      onUp: () => handlers.onState('live'),
      onDown: (reason) => !closed && handlers.onState('down', reason),
    },
    { retryMs },
  )
  return {
    via: 'PostgreSQL',
    channel,
    redis: () => undefined,
    async close() {
      closed = true
      await (await listening).close()
    },
  }
}

function redisFeed(ctx: Pick<CoreContext, 'config' | 'log'>, url: string, handlers: AlertFeedHandlers, onMessage: (channel: string) => (m: string) => void, retryMs: number): AlertFeed {
  const channel = redisAlertChannel(ctx.config.redisPrefix)
  let client: Redis | undefined
  let subscriber: Redis | undefined
  let retry: NodeJS.Timeout | undefined
  let closed = false

  const connect = async () => {
    if (closed) return
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
      await s.subscribe(channel, onMessage(channel))
      if (closed) throw new Error('closed')
      client = c
      subscriber = s
      handlers.onState('live')
    } catch (error) {
      await Promise.all([c && closeRedis(c), s && closeRedis(s)])
      if (closed) return
      handlers.onState('down', (error as Error).message)
      retry = setTimeout(() => void connect(), retryMs)
    }
  }
  void connect()

  return {
    via: 'Redis',
    channel,
    redis: () => (client?.isReady ? client : undefined),
    async close() {
      closed = true
      clearTimeout(retry)
      await Promise.all([subscriber && closeRedis(subscriber), client && closeRedis(client)])
    },
  }
}
