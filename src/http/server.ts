import type { CoreContext } from '../core/context.js'
import type { AppOptions } from './app.js'
import { buildApp } from './app.js'

export interface RunningServer {
  url: string
  /** Stop accepting, finish in-flight requests, flush usage, stop listening to Redis. */
  close(): Promise<void>
}

/** Start `serve`: validation state goes long-running (mirrors, pub/sub), then listen. */
export async function startServer(ctx: CoreContext, options: AppOptions & { host: string; port: number }): Promise<RunningServer> {
  await ctx.validation.start()
  const app = buildApp(ctx, { ...options, fastVerify: true })
  const url = await app.listen({ host: options.host, port: options.port })
  let closing: Promise<void> | undefined
  return {
    url,
    close() {
      closing ??= (async () => {
        await app.close()
        await ctx.validation.close()
        await ctx.bus.drain()
      })()
      return closing
    },
  }
}
