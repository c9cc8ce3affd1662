import { MomentryCommand } from '../../base-command.js'
import { idArg } from '../../cli/flags.js'
import type { AnomalyDetails } from '../../core/anomalies/handle-anomaly.js'
import { acknowledgeAnomaly } from '../../core/anomalies/handle-anomaly.js'
import { renderAnomaly } from '../../ui/anomalies.js'

export default class AnomalyAck extends MomentryCommand<AnomalyDetails> {
  static override summary = 'Acknowledge an anomaly (someone is on it); repeats keep counting until it is resolved.'
  static override examples = ['<%= config.bin %> anomaly ack anm_4kQ2mZp0aXy7Lb8f']
  static override args = { id: idArg('anomaly id (anm_…)') }

  async run(): Promise<AnomalyDetails> {
    const { args } = await this.parse(AnomalyAck)
    const anomaly = await acknowledgeAnomaly(this.ctx, args.id)
    this.render(anomaly, renderAnomaly)
    return anomaly
  }
}
