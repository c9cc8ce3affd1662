import { MomentryCommand } from '../../base-command.js'
import { idArg } from '../../cli/flags.js'
import type { AnomalyDetails } from '../../core/anomalies/handle-anomaly.js'
import { acknowledgeAnomaly } from '../../core/anomalies/handle-anomaly.js'
import { renderAnomaly } from '../../ui/anomalies.js'

type Result = { anomaly: AnomalyDetails }

export default class AnomalyAck extends MomentryCommand<Result> {
  static override summary = 'Acknowledge an anomaly (someone is on it); repeats keep counting until it is resolved.'
  static override examples = ['<%= config.bin %> anomaly ack anm_4kQ2mZp0aXy7Lb8f']
  static override args = { id: idArg('anomaly id (anm_…)') }

  async run(): Promise<Result> {
    const { args } = await this.parse(AnomalyAck)
    const anomaly = await acknowledgeAnomaly(this.ctx, args.id)
    const result = { anomaly }
    this.render(result, (r) => renderAnomaly(r.anomaly))
    return result
  }
}
