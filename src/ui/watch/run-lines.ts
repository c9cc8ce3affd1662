import type { CoreContext } from '../../core/context.js'
import { alertSource } from '../../core/watch/alert-feed.js'
import { startWatch } from '../../core/watch/watch.js'
import { alertLine } from './format.js'

export interface LineOptions {
  json: boolean
  intervalMs: number
  /** Resolves when the run should end (SIGINT/SIGTERM). */
  until: Promise<unknown>
  out?: (line: string) => void
  err?: (line: string) => void
}

/**
 * `watch` when stdout is not a terminal, or with --json: one line per alert on stdout
 * (one JSON object per line with --json), connection changes on stderr.
 */
export async function runLines(ctx: CoreContext, options: LineOptions): Promise<number> {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`))
  const err = options.err ?? ((line: string) => process.stderr.write(`${line}\n`))
  const every = `${Math.round(options.intervalMs / 1000)} s`
  let printed = 0
  let feedWas: string | undefined
  const { via, channel } = alertSource(ctx.config)
  const watch = startWatch(
    ctx,
    {
      onAlert(alert) {
        printed += 1
        out(options.json ? JSON.stringify(alert) : alertLine(alert))
      },
      onFeed(state, detail) {
        if (state === 'live') err(`momentry watch: ${feedWas === 'down' || feedWas === 'reconnecting' ? `${via} is back; ` : ''}listening on ${channel} via ${via} (one line per alert; Ctrl-C to stop)`)
        else if (state === 'down' || (state === 'reconnecting' && feedWas === 'live')) {
          err(`momentry watch: live alerts via ${via} unavailable${detail ? ` (${detail})` : ''}; polling PostgreSQL every ${every} until it is back`)
        }
        if (state !== 'connecting') feedWas = state
      },
      onPostgres(state, detail) {
        if (state === 'down') err(`momentry watch: PostgreSQL unavailable (${detail}); retrying every ${every}`)
        else if (state === 'live') err('momentry watch: PostgreSQL connected')
      },
    },
    { intervalMs: options.intervalMs },
  )
  await options.until
  await watch.close()
  return printed
}
