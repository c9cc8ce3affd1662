import type { RedisClientType } from 'redis'

import { redactUrl } from './config.js'
import { ConnectionError } from './errors.js'
import type { Logger } from './log.js'

export type Redis = RedisClientType

/**
 * Connect to Redis. node-redis is imported on demand so that commands which never touch
 * Redis do not pay for loading it.
 */
export async function connectRedis(url: string, log: Logger, options: { connectTimeoutMs?: number } = {}): Promise<Redis> {
  const { createClient } = await import('redis')
  const client = createClient({
    url,
    socket: { connectTimeout: options.connectTimeoutMs ?? 2000, reconnectStrategy: false },
  }) as Redis
  let reported = false
  client.on('error', (error: Error) => {
    if (!reported) log.debug(`redis: ${error.message}`)
    reported = true
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
