import { MomentryCommand } from '../../base-command.js'
import { idArg } from '../../cli/flags.js'
import { withProgress } from '../../cli/progress.js'
import { ExitCode } from '../../core/errors.js'
import type { DeliveryView } from '../../core/webhooks/repo.js'
import { testWebhook } from '../../core/webhooks/webhooks.js'
import { renderDelivery } from '../../ui/webhooks.js'

type Result = { delivery: DeliveryView }

export default class WebhookTest extends MomentryCommand<Result> {
  static override summary = 'Send a signed webhook.test event to an endpoint now (exit 7 if it does not answer 2xx).'
  static override examples = ['<%= config.bin %> webhook test whk_4kQ2mZp0aXy7Lb8f']
  static override args = { id: idArg('webhook id (whk_…)') }

  async run(): Promise<Result> {
    const { args } = await this.parse(WebhookTest)
    const delivery = await withProgress('Sending webhook.test', () => testWebhook(this.ctx, args.id), { quiet: this.jsonEnabled() })
    if (delivery.status !== 'delivered') this.setExitCode(ExitCode.EXTERNAL)
    const result = { delivery }
    this.render(result, (r) => renderDelivery(r.delivery))
    return result
  }
}
