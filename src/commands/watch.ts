import { MomentryCommand } from '../base-command.js'
import { durationFlag } from '../cli/flags.js'
import { colourEnabled } from '../ui/paint.js'
import type { WatchModel } from '../ui/watch/model.js'
import { runLines } from '../ui/watch/run-lines.js'

export default class Watch extends MomentryCommand<void> {
  static override summary = 'Live anomaly dashboard: alerts as they happen, traffic, top keys, locked-out IPs.'
  static override description = `In a terminal: a full-screen dashboard fed by live alerts and refreshed from PostgreSQL. Keys: ↑/↓ select, a acknowledge, r resolve, d disable the alert's key (asks first), f cycle the severity filter, p pause, q or Ctrl-C quit.
When stdout is not a terminal, or with --json: one line per alert (one JSON object per line with --json), for pipes. Alerts arrive live over the Redis alert channel when REDIS_URL is set, else over PostgreSQL NOTIFY (every detecting process sends both); while the live feed is down it polls PostgreSQL for new anomalies, so none is missed.`
  static override examples = ['<%= config.bin %> watch', '<%= config.bin %> watch --json | jq -c \'select(.severity == "critical")\'', '<%= config.bin %> watch --interval 2s']

  static override flags = {
    interval: durationFlag({ summary: 'How often to refresh from PostgreSQL (and poll for alerts while the live feed is down). Default 5s.', example: '2s' }),
  }

  protected override longRunning = true

  async run(): Promise<void> {
    const { flags } = await this.parse(Watch)
    const intervalMs = (flags.interval ?? 5) * 1000
    if (process.stdout.isTTY && process.stdin.isTTY && !this.jsonEnabled()) {
      const { modelLogger, runDashboard } = await import('../ui/watch/run-dashboard.js')
      const target: { model?: WatchModel } = {}
      this.logger = modelLogger(target, Boolean(process.env.MOMENTRY_DEBUG))
      await runDashboard(this.ctx, { intervalMs, colour: colourEnabled(), target })
      return
    }
    const until = new Promise((resolve) => {
      process.once('SIGINT', resolve)
      process.once('SIGTERM', resolve)
    })
    await runLines(this.ctx, { json: this.jsonEnabled(), intervalMs, until })
  }
}
