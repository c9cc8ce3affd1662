import { MomentryCommand } from '../../base-command.js'
import { idArg } from '../../cli/flags.js'
import type { AnomalyDetails } from '../../core/anomalies/handle-anomaly.js'
import { showAnomaly } from '../../core/anomalies/handle-anomaly.js'
import { renderAnomaly } from '../../ui/anomalies.js'

type Result = { anomaly: AnomalyDetails }

export default class AnomalyShow extends MomentryCommand<Result> {
  static override summary = 'Show one anomaly: what was observed, how often, and who handled it.'
  static override examples = ['<%= config.bin %> anomaly show anm_4kQ2mZp0aXy7Lb8f']
  static override args = { id: idArg('anomaly id (anm_…)') }

  async run(): Promise<Result> {
    const { args } = await this.parse(AnomalyShow)
    const anomaly = await showAnomaly(this.ctx, args.id)
    const result = { anomaly }
    this.render(result, (r) => renderAnomaly(r.anomaly))
    return result
  }
}
