import { Args, Flags } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import { serviceTargetFor } from '../../cli/integrations.js'
import { readSecret } from '../../cli/read-secret.js'
import { withProgress } from '../../cli/progress.js'
import { ExitCode } from '../../core/errors.js'
import type { GiteaVerifyResult } from '../../core/gitea/gitea-client.js'
import { verifyGiteaToken } from '../../core/gitea/gitea-client.js'
import { renderGiteaVerify } from '../../ui/integrations.js'

const HOW = 'Pipe the token in (`printenv GITEA_TOKEN | momentry gitea verify`) or name a variable with --token-env GITEA_TOKEN'

export default class GiteaVerify extends MomentryCommand<GiteaVerifyResult> {
  static override summary = 'Check a Gitea token: exit 0 valid (also without read:user), 3 invalid or refused.'
  static override description =
    'Asks Gitea who the token belongs to (GET /api/v1/user). 401 → invalid; 403 "required scope" → the token is valid but lacks read:user, so momentry cannot see whose it is (exit 0, status insufficient_scope); any other 403 (e.g. the user must change their password) → refused (exit 3). The token is read from stdin or --token-env; a positional token works but warns.'
  static override examples = ['printenv GITEA_TOKEN | <%= config.bin %> gitea verify', '<%= config.bin %> gitea verify --token-env GITEA_TOKEN --json']
  static override args = { token: Args.string({ description: 'the token (discouraged: visible in ps and shell history)', ignoreStdin: true }) }
  static override flags = { 'token-env': Flags.string({ summary: 'Read the token from this environment variable.', helpValue: 'VAR' }) }

  async run(): Promise<GiteaVerifyResult> {
    const { args, flags } = await this.parse(GiteaVerify)
    const token = (await readSecret({ what: 'token', how: HOW, positional: args.token, env: { flag: 'token-env', name: flags['token-env'] } })).text
    const result = await withProgress('Asking Gitea about the token', async () => verifyGiteaToken(await serviceTargetFor(this.ctx, 'gitea'), token), { quiet: this.jsonEnabled() })
    if (!result.valid) this.setExitCode(ExitCode.KEY_INVALID)
    this.render(result, renderGiteaVerify)
    return result
  }
}
