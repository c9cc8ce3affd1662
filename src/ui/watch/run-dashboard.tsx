import type { CoreContext } from '../../core/context.js'
import { disableKey } from '../../core/api-keys/change-key-state.js'
import { acknowledgeAnomaly, resolveAnomaly } from '../../core/anomalies/handle-anomaly.js'
import type { Logger } from '../../core/log.js'
import { alertSource } from '../../core/watch/alert-feed.js'
import { startWatch } from '../../core/watch/watch.js'
import { Dashboard } from './dashboard.js'
import { WatchModel } from './model.js'

/** Core log lines shown on the dashboard's message line instead of scribbled over it. */
export function modelLogger(target: { model?: WatchModel }, debug = false): Logger {
  const say = (tone: 'info' | 'error') => (m: string) => target.model?.say(m, tone)
  return { debug: debug ? say('info') : () => {}, info: say('info'), warn: say('error'), error: say('error') }
}

/**
 * The full-screen dashboard: ink (loaded here, lazily, so other commands never pay for it)
 * on the terminal's alternate screen, fed by startWatch. Resolves when the user quits.
 */
export async function runDashboard(ctx: CoreContext, options: { intervalMs: number; colour: boolean; target: { model?: WatchModel } }): Promise<void> {
  const { render } = await import('ink')
  const stdout = process.stdout
  let quit = () => {}
  let watch: ReturnType<typeof startWatch> | undefined
  const afterAction = async <T,>(p: Promise<T>) => {
    const result = await p
    await watch?.refresh()
    return result
  }
  const model = new WatchModel(alertSource(ctx.config), {
    acknowledge: (id) => afterAction(acknowledgeAnomaly(ctx, id)),
    resolve: (id) => afterAction(resolveAnomaly(ctx, id, { note: 'resolved in momentry watch' })),
    disableKey: (keyId, anomalyId) => afterAction(disableKey(ctx, { id: keyId, reason: `disabled in momentry watch (anomaly ${anomalyId})` })),
    quit: () => quit(),
  })
  options.target.model = model
  watch = startWatch(
    ctx,
    {
      onAlert: (a) => model.alert(a),
      onFeed: (s, d) => model.feed(s, d),
      onPostgres: (s, d) => model.postgres(s, d),
      onSnapshot: (s) => model.snapshot(s),
    },
    { intervalMs: options.intervalMs },
  )

  const view = () => <Dashboard model={model} width={stdout.columns || 120} height={stdout.rows || 40} colour={options.colour} />
  stdout.write('\u001b[?1049h\u001b[H') // alternate screen: the shell's scrollback is left as it was
  const app = render(view(), { exitOnCtrlC: true, patchConsole: true, maxFps: 20 })
  quit = () => app.unmount()
  const onResize = () => {
    app.clear()
    stdout.write('\u001b[2J\u001b[3J\u001b[H') // start the new size from a clean screen
    app.rerender(view())
  }
  const onSignal = () => app.unmount()
  stdout.on('resize', onResize)
  process.once('SIGTERM', onSignal)
  process.once('SIGHUP', onSignal)
  try {
    await app.waitUntilExit()
  } finally {
    stdout.off('resize', onResize)
    process.off('SIGTERM', onSignal)
    process.off('SIGHUP', onSignal)
    model.close()
    stdout.write('\u001b[2J\u001b[3J\u001b[H\u001b[?1049l') // leave a clean alternate screen behind
    await watch.close()
  }
}
