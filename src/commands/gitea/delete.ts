import { Flags } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import { idArg } from '../../cli/flags.js'
import { giteaFor } from '../../cli/integrations.js'
import { withProgress } from '../../cli/progress.js'
import type { DeletedGiteaToken } from '../../core/gitea/gitea-tokens.js'
import { deleteGiteaToken, parseGiteaTokenId } from '../../core/gitea/gitea-tokens.js'
import { renderGiteaDeleted } from '../../ui/integrations.js'

export default class GiteaDelete extends MomentryCommand<DeletedGiteaToken> {
  static override summary = 'Delete a Gitea token by its numeric id (never by name).'
  static override examples = ['<%= config.bin %> gitea delete 42', '<%= config.bin %> gitea delete 42 --user ci-bot --json']
  static override args = { id: idArg('numeric Gitea token id (`momentry gitea list` shows them)') }
  static override flags = { user: Flags.string({ summary: 'Owner of the token when momentry does not track it (default: the logged-in user).' }) }

  async run(): Promise<DeletedGiteaToken> {
    const { args, flags } = await this.parse(GiteaDelete)
    parseGiteaTokenId(args.id) // a bad id is a usage error before any credential or request
    const result = await withProgress('Deleting the Gitea token', async () => deleteGiteaToken(this.ctx, await giteaFor(this.ctx), { id: args.id, user: flags.user }), { quiet: this.jsonEnabled() })
    this.render(result, renderGiteaDeleted)
    return result
  }
}
