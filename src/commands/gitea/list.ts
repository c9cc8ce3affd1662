import { Flags } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import { tableWidth, wideFlag } from '../../cli/table-width.js'
import { giteaFor } from '../../cli/integrations.js'
import { withProgress } from '../../cli/progress.js'
import type { GiteaTokenList } from '../../core/gitea/gitea-tokens.js'
import { listGiteaTokens } from '../../core/gitea/gitea-tokens.js'
import { renderGiteaList } from '../../ui/integrations.js'

export default class GiteaList extends MomentryCommand<GiteaTokenList> {
  static override summary = 'List a user’s Gitea tokens: momentry’s records joined with Gitea’s list, flagging drift.'
  static override description = 'drift "gone": momentry created it but Gitea no longer has it; "untracked": Gitea has it but it was not made through momentry.'
  static override examples = ['<%= config.bin %> gitea list', '<%= config.bin %> gitea list --user ci-bot --json']
  static override flags = { user: Flags.string({ summary: 'Gitea user (default: the logged-in user).' }), wide: wideFlag }

  async run(): Promise<GiteaTokenList> {
    const { flags } = await this.parse(GiteaList)
    const list = await withProgress('Listing Gitea tokens', async () => listGiteaTokens(this.ctx, await giteaFor(this.ctx), { user: flags.user }), { quiet: this.jsonEnabled() })
    this.render(list, (l) => renderGiteaList(l, tableWidth(flags)))
    return list
  }
}
