import { MomentryCommand } from '../../base-command.js'
import { credentialStore } from '../../cli/integrations.js'
import { listStoredSecrets } from '../../core/credentials/auth.js'
import { renderStoredSecrets } from '../../ui/integrations.js'

type Result = Awaited<ReturnType<typeof listStoredSecrets>>

export default class AuthList extends MomentryCommand<Result> {
  static override summary = 'List what momentry holds in the credential store (account names, keychain or file) — never the values.'
  static override description = 'Accounts: gitea and n8n (auth login), api-key/<key name> (api-key rotate --due --to-keychain). Credentials from environment variables are not stored, so not listed (see auth status).'
  static override examples = ['<%= config.bin %> auth list', '<%= config.bin %> auth list --json']

  async run(): Promise<Result> {
    await this.parse(AuthList)
    const result = await listStoredSecrets(credentialStore(this.ctx))
    this.render(result, renderStoredSecrets)
    return result
  }
}
