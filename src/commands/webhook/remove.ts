import { Args } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import type { WebhookView } from '../../core/webhooks/webhooks.js'
import { removeWebhook } from '../../core/webhooks/webhooks.js'

export default class WebhookRemove extends MomentryCommand<WebhookView> {
  static override summary = 'Remove a webhook endpoint and its pending deliveries.'
  static override examples = ['<%= config.bin %> webhook remove whk_4kQ2mZp0aXy7Lb8f']
  static override args = { id: Args.string({ required: true, description: 'webhook id (whk_…)', ignoreStdin: true }) }

  async run(): Promise<WebhookView> {
    const { args } = await this.parse(WebhookRemove)
    const removed = await removeWebhook(this.ctx, args.id)
    this.render(removed, (w) => `${w.id} removed`)
    return removed
  }
}
