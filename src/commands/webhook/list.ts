import { MomentryCommand } from '../../base-command.js'
import { tableWidth, wideFlag } from '../../cli/table-width.js'
import type { WebhookView } from '../../core/webhooks/repo.js'
import { listWebhooks } from '../../core/webhooks/webhooks.js'
import { renderWebhooks } from '../../ui/webhooks.js'

type Result = { items: WebhookView[] }

export default class WebhookList extends MomentryCommand<Result> {
  static override summary = 'List webhook endpoints (never their secrets).'
  static override examples = ['<%= config.bin %> webhook list', '<%= config.bin %> webhook list --json']

  static override flags = { wide: wideFlag }

  async run(): Promise<Result> {
    const { flags } = await this.parse(WebhookList)
    const result = { items: await listWebhooks(this.ctx) }
    this.render(result, (r) => renderWebhooks(r.items, tableWidth(flags)))
    return result
  }
}
