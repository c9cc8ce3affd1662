import { MomentryCommand } from '../../base-command.js'
import { idArg } from '../../cli/flags.js'
import { n8nFor } from '../../cli/integrations.js'
import { withProgress } from '../../cli/progress.js'
import type { DeletedN8nKey } from '../../core/n8n/n8n-keys.js'
import { assertN8nKeyId, deleteN8nKey } from '../../core/n8n/n8n-keys.js'
import { renderN8nDeleted } from '../../ui/integrations.js'

export default class N8nDelete extends MomentryCommand<DeletedN8nKey> {
  static override summary = 'Delete an n8n API key, then re-list to confirm it is gone (n8n answers 200 even for unknown ids).'
  static override examples = ['<%= config.bin %> n8n delete 3hV0Xq2bLm9ZpTqe', '<%= config.bin %> n8n delete 3hV0Xq2bLm9ZpTqe --json']
  static override args = { id: idArg('n8n API key id (`momentry n8n list` shows them)') }

  async run(): Promise<DeletedN8nKey> {
    const { args } = await this.parse(N8nDelete)
    assertN8nKeyId(args.id)
    const result = await withProgress('Deleting the n8n API key', async () => deleteN8nKey(this.ctx, await n8nFor(this.ctx), { id: args.id }), { quiet: this.jsonEnabled() })
    this.render(result, renderN8nDeleted)
    return result
  }
}
