import { Flags } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import { idArg } from '../../cli/flags.js'
import type { AnomalyDetails } from '../../core/anomalies/handle-anomaly.js'
import { resolveAnomaly } from '../../core/anomalies/handle-anomaly.js'
import { renderAnomaly } from '../../ui/anomalies.js'

type Result = { anomaly: AnomalyDetails }

export default class AnomalyResolve extends MomentryCommand<Result> {
  static override summary = 'Resolve an anomaly; a later detection of the same kind opens a new one.'
  static override examples = ['<%= config.bin %> anomaly resolve anm_4kQ2mZp0aXy7Lb8f --note "load test, expected"']
  static override args = { id: idArg('anomaly id (anm_…)') }
  static override flags = { note: Flags.string({ summary: 'What it was; kept with the anomaly and in the audit log.' }) }

  async run(): Promise<Result> {
    const { args, flags } = await this.parse(AnomalyResolve)
    const anomaly = await resolveAnomaly(this.ctx, args.id, { note: flags.note })
    const result = { anomaly }
    this.render(result, (r) => renderAnomaly(r.anomaly))
    return result
  }
}
