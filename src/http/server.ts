import type { EffectName } from '../core/effects.js'
import { formatDuration } from '../core/duration.js'
import { SERVER_EFFECTS } from '../core/effects.js'
import { ConfigError } from '../core/errors.js'
import type { Core } from '../core/open-core.js'
import type { AppOptions } from './app.js'
import { buildApp } from './app.js'
import { trackConnections } from './drain.js'

export interface RunningServer {
  url: string
  /**
   * Stop accepting, answer the requests in flight and those still arriving on open
   * connections (with `connection: close`), close idle connections, and after
   * MOMENTRY_HTTP_DRAIN_TIMEOUT whatever is left; then flush usage and close the core.
   */
  close(): Promise<void>
  /** During close(): stop waiting for requests in flight and close their connections now. */
  forceClose(): void
}

/**
 * Started once the port is ours: the first checkpoint may generate its signing key (said on the
 * log), which a `serve` that could not listen should not have done.
 */
const AFTER_LISTEN: readonly EffectName[] = ['audit-checkpoints']

/**
 * Start `serve`: the core's long-running side effects first (mirrors loaded, usage flush,
 * detection, outbox drain, rotation notices), then listen, then the audit checkpoints.
 * `close()` stops accepting, drains the open connections (see drain.ts), then closes the
 * core (usage flushed, connections closed).
 */
export async function startServer(core: Core, options: AppOptions & { host: string; port: number }): Promise<RunningServer> {
  await core.start(SERVER_EFFECTS.filter((e) => !AFTER_LISTEN.includes(e)))
  const app = buildApp(core.ctx, { ...options, fastVerify: true })
  const connections = trackConnections(app.server)
  let url: string
  try {
    url = await app.listen({ host: options.host, port: options.port })
  } catch (error) {
    await app.close().catch(() => {})
    await core.close()
    throw listenError(error, options.host, options.port)
  }
  await core.start(AFTER_LISTEN)
  let closing: Promise<void> | undefined
  return {
    url,
    close() {
      closing ??= (async () => {
        const { drainTimeoutSeconds } = core.ctx.config.serve
        const { forced } = await connections.drain(drainTimeoutSeconds * 1000)
        if (forced > 0) core.ctx.log.warn(`closed ${forced} connection${forced === 1 ? '' : 's'} with a request still in flight (drain timeout ${formatDuration(drainTimeoutSeconds)}, MOMENTRY_HTTP_DRAIN_TIMEOUT, or a second signal)`)
        // No connection is left: fastify's close only runs its hooks and the server's own close.
        await app.close()
        await core.close()
      })()
      return closing
    },
    forceClose: () => connections.force(),
  }
}

/** Why `serve` could not listen, as one line with what to do (exit 8); anything else as is. */
function listenError(error: unknown, host: string, port: number): unknown {
  const where = `${host}:${port}`
  switch ((error as NodeJS.ErrnoException).code) {
    case 'EADDRINUSE':
      return new ConfigError(`cannot listen on ${where}: the port is already in use`, 'Stop what is using it, or pick another --port', error)
    case 'EACCES':
      return new ConfigError(`cannot listen on ${where}: permission denied`, 'Ports below 1024 need privileges: pick --port 1024 or above', error)
    case 'EADDRNOTAVAIL':
      return new ConfigError(`cannot listen on ${where}: ${host} is not an address of this machine`, 'Use --host 127.0.0.1, 0.0.0.0, or one of this machine’s addresses', error)
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ConfigError(`cannot listen on ${where}: the host name ${host} does not resolve`, 'Use an IP address for --host, e.g. 127.0.0.1', error)
    default:
      return error
  }
}
