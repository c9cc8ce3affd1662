import { MomentryCommand } from '../../base-command.js'
import { credentialStore } from '../../cli/integrations.js'
import { authStatus } from '../../core/credentials/auth.js'
import { renderAuthStatus } from '../../ui/integrations.js'

type Result = Awaited<ReturnType<typeof authStatus>>

export default class AuthStatus extends MomentryCommand<Result> {
  static override summary = 'Show, per service, where the credentials come from (env, keychain, file or none), the URL and the user — never the password.'
  static override examples = ['<%= config.bin %> auth status', '<%= config.bin %> auth status --json']

  async run(): Promise<Result> {
    await this.parse(AuthStatus)
    const result = await authStatus(credentialStore(this.ctx))
    this.render(result, renderAuthStatus)
    return result
  }
}
