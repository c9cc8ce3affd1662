import type { RedisClientType } from '@redis/client'

import { redactUrl } from './config.js'
import { ConnectionError } from './errors.js'
import type { Logger } from './log.js'

export type Redis = RedisClientType

/**
 * Connect to Redis. node-redis is imported on demand so that commands which never touch
 * Redis do not pay for loading it.
 */
export async function connectRedis(
  url: string,
  log: Logger,
  options: { connectTimeoutMs?: number; /** Long-running: reconnect (with backoff) after a drop. */ reconnect?: boolean } = {},
): Promise<Redis> {
  const { createClient } = await import('@redis/client')
  let connected = false
  const client = createClient({
    url,
    // Commands fail at once while disconnected instead of queueing: callers fall back.
    disableOfflineQueue: Boolean(options.reconnect),
    socket: {
      connectTimeout: options.connectTimeoutMs ?? 2000,
      reconnectStrategy: (retries: number) => (options.reconnect && connected ? Math.min(50 * 2 ** retries, 2000) : false),
    },
  }) as unknown as Redis
  let down = false
  client.on('error', (error: Error) => {
    if (!down) log[connected ? 'warn' : 'debug'](`Redis connection lost (${error.message})${options.reconnect && connected ? '; reconnecting' : ''}`)
    down = true
  })
  client.on('ready', () => {
    if (down && connected) log.info('Redis connection restored')
    down = false
    connected = true
  })
  try {
    await client.connect()
  } catch (error) {
    throw new ConnectionError(
      `cannot reach Redis at ${redactUrl(url)} (${(error as Error).message})`,
      'Check that Redis is running and REDIS_URL is right, or unset REDIS_URL to run without it',
      error,
    )
  }
  return client
}

export async function closeRedis(client: Redis): Promise<void> {
  try {
    await client.close()
  } catch {
    client.destroy()
  }
}
