import { Flags } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import { giteaFor } from '../../cli/integrations.js'
import { withProgress } from '../../cli/progress.js'
import type { IssuedGiteaToken } from '../../core/gitea/gitea-tokens.js'
import { assertGiteaScopes, createGiteaToken } from '../../core/gitea/gitea-tokens.js'
import { renderGiteaIssued } from '../../ui/integrations.js'

export default class GiteaCreate extends MomentryCommand<IssuedGiteaToken> {
  static override summary = 'Mint a Gitea personal access token; the token is printed once and only its last eight characters are kept.'
  static override description =
    'Acts with the stored Gitea credentials (`momentry auth login gitea`); for another user than the logged-in one it sends `Sudo: USER`, which needs a site admin. Scopes are checked against Gitea’s list before any request.'
  static override examples = [
    '<%= config.bin %> gitea create --user ci-bot --name deploy --scopes read:repository,write:issue',
    '<%= config.bin %> gitea create --name backup --scopes read:repository --json',
  ]

  static override flags = {
    user: Flags.string({ summary: 'Gitea user the token belongs to (default: the logged-in user).' }),
    name: Flags.string({ summary: 'Token name (unique per user in Gitea).', required: true }),
    scopes: Flags.string({ summary: 'Comma-separated Gitea scopes, e.g. read:repository,write:issue.', required: true }),
  }

  async run(): Promise<IssuedGiteaToken> {
    const { flags } = await this.parse(GiteaCreate)
    const scopes = flags.scopes.split(',').map((s) => s.trim()).filter(Boolean)
    assertGiteaScopes(scopes) // before credentials are even looked up
    const issued = await withProgress('Creating the Gitea token', async () => createGiteaToken(this.ctx, await giteaFor(this.ctx), { user: flags.user, name: flags.name, scopes }), {
      quiet: this.jsonEnabled(),
    })
    this.renderSecret(issued, renderGiteaIssued(issued))
    return issued
  }
}
