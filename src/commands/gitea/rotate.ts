import { MomentryCommand } from '../../base-command.js'
import { idArg } from '../../cli/flags.js'
import { giteaFor } from '../../cli/integrations.js'
import { withProgress } from '../../cli/progress.js'
import { ExitCode } from '../../core/errors.js'
import type { RotatedGiteaToken } from '../../core/gitea/gitea-tokens.js'
import { parseGiteaTokenId, rotateGiteaToken } from '../../core/gitea/gitea-tokens.js'
import { renderGiteaRotated } from '../../ui/integrations.js'

export default class GiteaRotate extends MomentryCommand<RotatedGiteaToken> {
  static override summary = 'Replace a tracked Gitea token: create the new one (NAME-rot-<time>), then delete the old one.'
  static override description =
    'The new token is printed once. If the old token cannot be deleted, the new one is still printed, the problem is reported, and the exit code is 7.'
  static override examples = ['<%= config.bin %> gitea rotate 42', '<%= config.bin %> gitea rotate 42 --json']
  static override args = { id: idArg('numeric Gitea token id') }

  async run(): Promise<RotatedGiteaToken> {
    const { args } = await this.parse(GiteaRotate)
    parseGiteaTokenId(args.id)
    const result = await withProgress('Rotating the Gitea token', async () => rotateGiteaToken(this.ctx, await giteaFor(this.ctx), { id: args.id }), { quiet: this.jsonEnabled() })
    if (!result.previous.deleted) this.setExitCode(ExitCode.EXTERNAL)
    this.renderSecret(result, renderGiteaRotated(result))
    return result
  }
}
