import { MomentryCommand } from '../../base-command.js'
import { idArg } from '../../cli/flags.js'
import { withProgress } from '../../cli/progress.js'
import { ExitCode } from '../../core/errors.js'
import type { DeliveryView } from '../../core/webhooks/repo.js'
import { redeliver } from '../../core/webhooks/webhooks.js'
import { renderDelivery } from '../../ui/webhooks.js'

type Result = { delivery: DeliveryView }

export default class WebhookRedeliver extends MomentryCommand<Result> {
  static override summary = 'Send a delivery again now (exit 7 if the endpoint does not answer 2xx).'
  static override examples = ['<%= config.bin %> webhook redeliver msg_2kV0S2c9yq0Q8bqYbq4m']
  static override args = { delivery: idArg('delivery id (msg_…)') }

  async run(): Promise<Result> {
    const { args } = await this.parse(WebhookRedeliver)
    const delivery = await withProgress(`Sending ${args.delivery} again`, () => redeliver(this.ctx, args.delivery), { quiet: this.jsonEnabled() })
    if (delivery.status !== 'delivered') this.setExitCode(ExitCode.EXTERNAL)
    const result = { delivery }
    this.render(result, (r) => renderDelivery(r.delivery))
    return result
  }
}
