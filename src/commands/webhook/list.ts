import { MomentryCommand } from '../../base-command.js'
import { tableWidth, wideFlag } from '../../cli/table-width.js'
import type { WebhookView } from '../../core/webhooks/repo.js'
import { listWebhooks } from '../../core/webhooks/webhooks.js'
import { renderWebhooks } from '../../ui/webhooks.js'

export default class WebhookList extends MomentryCommand<WebhookView[]> {
  static override summary = 'List webhook endpoints (never their secrets).'
  static override examples = ['<%= config.bin %> webhook list', '<%= config.bin %> webhook list --json']

  static override flags = { wide: wideFlag }

  async run(): Promise<WebhookView[]> {
    const { flags } = await this.parse(WebhookList)
    const list = await listWebhooks(this.ctx)
    this.render(list, (l) => renderWebhooks(l, tableWidth(flags)))
    return list
  }
}
