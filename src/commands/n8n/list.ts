import { MomentryCommand } from '../../base-command.js'
import { tableWidth, wideFlag } from '../../cli/table-width.js'
import { n8nFor } from '../../cli/integrations.js'
import { withProgress } from '../../cli/progress.js'
import type { N8nKeyList } from '../../core/n8n/n8n-keys.js'
import { listN8nKeys } from '../../core/n8n/n8n-keys.js'
import { renderN8nList } from '../../ui/integrations.js'

export default class N8nList extends MomentryCommand<N8nKeyList> {
  static override summary = 'List n8n API keys: momentry’s records joined with n8n’s list, flagging drift.'
  static override description = 'drift "gone": momentry created it but n8n no longer has it; "untracked": n8n has it but it was not made through momentry.'
  static override examples = ['<%= config.bin %> n8n list', '<%= config.bin %> n8n list --json']

  static override flags = { wide: wideFlag }

  async run(): Promise<N8nKeyList> {
    const { flags } = await this.parse(N8nList)
    const list = await withProgress('Listing n8n API keys', async () => listN8nKeys(this.ctx, await n8nFor(this.ctx)), { quiet: this.jsonEnabled() })
    this.render(list, (l) => renderN8nList(l, tableWidth(flags)))
    return list
  }
}
