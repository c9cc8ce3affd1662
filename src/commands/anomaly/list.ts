import { Flags } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import { tableWidth, wideFlag } from '../../cli/table-width.js'
import { durationFlag } from '../../cli/flags.js'
import type { AnomalyView } from '../../core/anomalies/anomaly-view.js'
import { ANOMALY_STATUSES, ANOMALY_TYPES, SEVERITIES } from '../../core/anomalies/anomaly-view.js'
import { listAnomalies } from '../../core/anomalies/list-anomalies.js'
import { renderAnomalies } from '../../ui/anomalies.js'

type Result = { items: AnomalyView[] }

export default class AnomalyList extends MomentryCommand<Result> {
  static override summary = 'List detected anomalies, most recently seen first.'
  static override examples = [
    '<%= config.bin %> anomaly list',
    '<%= config.bin %> anomaly list --status open --severity critical --since 24h',
    '<%= config.bin %> anomaly list --key key_8f3kQ2mZp0aXy7Lb --type multiple_ips --json',
  ]

  static override flags = {
    key: Flags.string({ summary: 'Only anomalies of this key id.' }),
    type: Flags.string({ summary: 'Only this detector.', options: [...ANOMALY_TYPES] }),
    severity: Flags.string({ summary: 'Only this severity.', options: [...SEVERITIES] }),
    status: Flags.string({ summary: 'Only this status.', options: [...ANOMALY_STATUSES] }),
    since: durationFlag({ summary: 'Only those seen within this long, e.g. 24h.', example: '24h' }),
    limit: Flags.integer({ summary: 'At most this many (1–1000).', default: 100, min: 1, max: 1000 }),
    wide: wideFlag,
  }

  async run(): Promise<Result> {
    const { flags } = await this.parse(AnomalyList)
    const items = await listAnomalies(this.ctx, {
      keyId: flags.key,
      type: flags.type as AnomalyView['type'] | undefined,
      severity: flags.severity as AnomalyView['severity'] | undefined,
      status: flags.status as AnomalyView['status'] | undefined,
      since: flags.since ? new Date(this.ctx.clock.now().getTime() - flags.since * 1000) : undefined,
      limit: flags.limit,
    })
    const result = { items }
    this.render(result, (r) => renderAnomalies(r.items, tableWidth(flags)))
    return result
  }
}
