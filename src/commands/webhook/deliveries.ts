import { Args, Flags } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import { tableWidth, wideFlag } from '../../cli/table-width.js'
import type { DeliveryView } from '../../core/webhooks/repo.js'
import { listDeliveries } from '../../core/webhooks/webhooks.js'
import { renderDeliveries } from '../../ui/webhooks.js'

type Result = { items: DeliveryView[] }

export default class WebhookDeliveries extends MomentryCommand<Result> {
  static override summary = 'List webhook deliveries, newest first: pending, delivered or failed, with the last answer.'
  static override examples = ['<%= config.bin %> webhook deliveries', '<%= config.bin %> webhook deliveries whk_4kQ2mZp0aXy7Lb8f --limit 20 --json']
  static override args = { id: Args.string({ description: 'only this webhook (whk_…)', ignoreStdin: true }) }
  static override flags = { limit: Flags.integer({ summary: 'At most this many (1–1000).', default: 50, min: 1, max: 1000 }), wide: wideFlag }

  async run(): Promise<Result> {
    const { args, flags } = await this.parse(WebhookDeliveries)
    const result = { items: await listDeliveries(this.ctx, { webhookId: args.id, limit: flags.limit }) }
    this.render(result, (r) => renderDeliveries(r.items, tableWidth(flags)))
    return result
  }
}
