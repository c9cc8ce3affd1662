import { Args, Flags } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import { credentialStore } from '../../cli/integrations.js'
import { ask, askHidden } from '../../cli/prompt.js'
import { readSecret } from '../../cli/read-secret.js'
import { withProgress } from '../../cli/progress.js'
import type { LoginResult } from '../../core/credentials/auth.js'
import { loginService } from '../../core/credentials/auth.js'
import { SERVICES } from '../../core/credentials/credential-store.js'
import type { Service } from '../../core/credentials/credential-store.js'
import { UsageError } from '../../core/errors.js'
import { renderLogin } from '../../ui/integrations.js'

export default class AuthLogin extends MomentryCommand<LoginResult> {
  static override summary = 'Check Gitea or n8n credentials against the service, then store them (OS keychain, else a 0600 file).'
  static override description =
    'On a terminal it asks for the URL, user and password (not echoed). In scripts give --url and --username (Gitea) or --email (n8n) and pipe the password on stdin. A password the service refuses is not stored (exit 7).'
  static override examples = [
    '<%= config.bin %> auth login gitea',
    'printenv GITEA_ADMIN_PASSWORD | <%= config.bin %> auth login gitea --url https://git.example.com --username admin',
    'printenv N8N_OWNER_PASSWORD | <%= config.bin %> auth login n8n --url http://127.0.0.1:5678 --email owner@example.com --json',
  ]

  static override args = { service: Args.string({ required: true, options: [...SERVICES], description: 'gitea or n8n', ignoreStdin: true }) }
  static override flags = {
    url: Flags.string({ summary: 'Base URL of the service (default: GITEA_URL / N8N_URL, or the stored one).' }),
    username: Flags.string({ summary: 'Gitea user name (an admin, to manage other users’ tokens).' }),
    email: Flags.string({ summary: 'n8n login e-mail (the owner or an admin).' }),
  }

  async run(): Promise<LoginResult> {
    const { args, flags } = await this.parse(AuthLogin)
    const service = args.service as Service
    const store = credentialStore(this.ctx)
    const current = await store.resolve(service)
    const hint = `Pipe the password on stdin, e.g. \`printenv PW | momentry auth login ${service} --${service === 'gitea' ? 'username' : 'email'} …\``
    let url = flags.url ?? current.url
    let username = service === 'gitea' ? flags.username : (flags.email ?? flags.username)
    let password: string
    if (process.stdin.isTTY) {
      url = flags.url ?? (await ask(`${service === 'gitea' ? 'Gitea' : 'n8n'} URL`, current.url))
      username ??= await ask(service === 'gitea' ? 'Gitea user' : 'n8n e-mail', current.username)
      password = await askHidden('Password')
      if (!password) throw new UsageError('no password given', 'Type it at the prompt, or pipe it on stdin')
    } else {
      if (!username) throw new UsageError(`give --${service === 'gitea' ? 'username' : 'email'} when stdin is not a terminal`, hint)
      password = (await readSecret({ what: 'password', how: hint, exact: true })).text
    }
    if (!username) throw new UsageError('no user given', hint)
    const result = await withProgress(`Logging in to ${url}`, () => loginService(store, { service, url, username, password, timeoutSeconds: this.ctx.config.httpTimeoutSeconds }), { quiet: this.jsonEnabled() })
    this.render(result, renderLogin)
    return result
  }
}
