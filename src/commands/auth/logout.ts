import { Args } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import { credentialStore } from '../../cli/integrations.js'
import { logoutService } from '../../core/credentials/auth.js'
import type { Service } from '../../core/credentials/credential-store.js'
import { SERVICES } from '../../core/credentials/credential-store.js'
import { renderLogout } from '../../ui/integrations.js'

type Result = Awaited<ReturnType<typeof logoutService>>

export default class AuthLogout extends MomentryCommand<Result> {
  static override summary = 'Forget the stored Gitea or n8n credentials (keychain and file); env variables are not touched.'
  static override examples = ['<%= config.bin %> auth logout gitea', '<%= config.bin %> auth logout n8n --json']
  static override args = { service: Args.string({ required: true, options: [...SERVICES], description: 'gitea or n8n', ignoreStdin: true }) }

  async run(): Promise<Result> {
    const { args } = await this.parse(AuthLogout)
    const result = await logoutService(credentialStore(this.ctx), args.service as Service)
    this.render(result, renderLogout)
    return result
  }
}
