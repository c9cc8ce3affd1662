import { MomentryCommand } from '../../base-command.js'
import { idArg } from '../../cli/flags.js'
import type { WebhookView } from '../../core/webhooks/repo.js'
import { removeWebhook } from '../../core/webhooks/webhooks.js'

type Result = { webhook: WebhookView }

export default class WebhookRemove extends MomentryCommand<Result> {
  static override summary = 'Remove a webhook endpoint and its pending deliveries.'
  static override examples = ['<%= config.bin %> webhook remove whk_4kQ2mZp0aXy7Lb8f']
  static override args = { id: idArg('webhook id (whk_…)') }

  async run(): Promise<Result> {
    const { args } = await this.parse(WebhookRemove)
    const result = { webhook: await removeWebhook(this.ctx, args.id) }
    this.render(result, (r) => `${r.webhook.id} removed`)
    return result
  }
}
