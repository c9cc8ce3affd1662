import { Args, Flags } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import { serviceTargetFor } from '../../cli/integrations.js'
import { readSecret } from '../../cli/read-secret.js'
import { withProgress } from '../../cli/progress.js'
import { ExitCode } from '../../core/errors.js'
import type { N8nVerifyResult } from '../../core/n8n/n8n-client.js'
import { verifyN8nKey } from '../../core/n8n/n8n-client.js'
import { renderN8nVerify } from '../../ui/integrations.js'

const HOW = 'Pipe the key in (`printenv N8N_API_KEY | momentry n8n verify`) or name a variable with --token-env N8N_API_KEY'

export default class N8nVerify extends MomentryCommand<N8nVerifyResult> {
  static override summary = 'Check an n8n API key: exit 0 valid, 3 invalid (or expired, deleted) or valid but lacking workflow:list.'
  static override description =
    'Calls GET /api/v1/workflows?limit=1 with the key. 401 → invalid; 403 → valid but lacks workflow:list (exit 0, status insufficient_scope). Unlicensed n8n does not enforce scopes, so "valid" does not mean "valid for these scopes". The key is read from stdin or --token-env.'
  static override examples = ['printenv N8N_API_KEY | <%= config.bin %> n8n verify', '<%= config.bin %> n8n verify --token-env N8N_API_KEY --json']
  static override args = { key: Args.string({ description: 'the key (discouraged: visible in ps and shell history)', ignoreStdin: true }) }
  static override flags = { 'token-env': Flags.string({ summary: 'Read the key from this environment variable.', helpValue: 'VAR' }) }

  async run(): Promise<N8nVerifyResult> {
    const { args, flags } = await this.parse(N8nVerify)
    const key = (await readSecret({ what: 'token', how: HOW, positional: args.key, env: { flag: 'token-env', name: flags['token-env'] } })).text
    const result = await withProgress('Asking n8n about the key', async () => verifyN8nKey(await serviceTargetFor(this.ctx, 'n8n'), key), { quiet: this.jsonEnabled() })
    if (!result.valid) this.setExitCode(ExitCode.KEY_INVALID)
    this.render(result, renderN8nVerify)
    return result
  }
}
