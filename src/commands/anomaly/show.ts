import { MomentryCommand } from '../../base-command.js'
import { idArg } from '../../cli/flags.js'
import type { AnomalyDetails } from '../../core/anomalies/handle-anomaly.js'
import { showAnomaly } from '../../core/anomalies/handle-anomaly.js'
import { renderAnomaly } from '../../ui/anomalies.js'

export default class AnomalyShow extends MomentryCommand<AnomalyDetails> {
  static override summary = 'Show one anomaly: what was observed, how often, and who handled it.'
  static override examples = ['<%= config.bin %> anomaly show anm_4kQ2mZp0aXy7Lb8f']
  static override args = { id: idArg('anomaly id (anm_…)') }

  async run(): Promise<AnomalyDetails> {
    const { args } = await this.parse(AnomalyShow)
    const anomaly = await showAnomaly(this.ctx, args.id)
    this.render(anomaly, renderAnomaly)
    return anomaly
  }
}
