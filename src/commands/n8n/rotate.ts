import { MomentryCommand } from '../../base-command.js'
import { idArg } from '../../cli/flags.js'
import { n8nFor } from '../../cli/integrations.js'
import { withProgress } from '../../cli/progress.js'
import { ExitCode } from '../../core/errors.js'
import type { RotatedN8nKey } from '../../core/n8n/n8n-keys.js'
import { assertN8nKeyId, rotateN8nKey } from '../../core/n8n/n8n-keys.js'
import { renderN8nRotated } from '../../ui/integrations.js'

export default class N8nRotate extends MomentryCommand<RotatedN8nKey> {
  static override summary = 'Replace a tracked n8n API key: create the new one (same label, scopes and lifetime), then delete the old one.'
  static override description = 'The new key is printed once. If the old key cannot be deleted, the new one is still printed, the problem is reported, and the exit code is 7.'
  static override examples = ['<%= config.bin %> n8n rotate 3hV0Xq2bLm9ZpTqe', '<%= config.bin %> n8n rotate 3hV0Xq2bLm9ZpTqe --json']
  static override args = { id: idArg('n8n API key id') }

  async run(): Promise<RotatedN8nKey> {
    const { args } = await this.parse(N8nRotate)
    assertN8nKeyId(args.id)
    const result = await withProgress('Rotating the n8n API key', async () => rotateN8nKey(this.ctx, await n8nFor(this.ctx), { id: args.id }), { quiet: this.jsonEnabled() })
    if (!result.previous.deleted) this.setExitCode(ExitCode.EXTERNAL)
    this.renderSecret(result, renderN8nRotated(result))
    return result
  }
}
