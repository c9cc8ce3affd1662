import { Flags } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import { durationFlag } from '../../cli/flags.js'
import { n8nFor } from '../../cli/integrations.js'
import { withProgress } from '../../cli/progress.js'
import type { IssuedN8nKey } from '../../core/n8n/n8n-keys.js'
import { createN8nKey } from '../../core/n8n/n8n-keys.js'
import { renderN8nIssued } from '../../ui/integrations.js'

export default class N8nCreate extends MomentryCommand<IssuedN8nKey> {
  static override summary = 'Mint an n8n public-API key; the key is printed once and only its last four characters are kept.'
  static override description = 'Logs in with the stored n8n credentials (`momentry auth login n8n`). Scopes must be allowed for that user’s role (n8n’s /rest/api-keys/scopes).'
  static override examples = [
    '<%= config.bin %> n8n create --label ci --scopes workflow:read,workflow:list',
    '<%= config.bin %> n8n create --label nightly-export --scopes workflow:list --expires-in 90d --json',
  ]

  static override flags = {
    label: Flags.string({ summary: 'Key label (1–50 characters).', required: true }),
    scopes: Flags.string({ summary: 'Comma-separated n8n scopes, e.g. workflow:read,workflow:list.', required: true }),
    'expires-in': durationFlag({ summary: 'Lifetime, e.g. 90d (default: no expiry).', example: '90d' }),
  }

  async run(): Promise<IssuedN8nKey> {
    const { flags } = await this.parse(N8nCreate)
    const scopes = flags.scopes.split(',').map((s) => s.trim()).filter(Boolean)
    const issued = await withProgress('Creating the n8n API key', async () => createN8nKey(this.ctx, await n8nFor(this.ctx), { label: flags.label, scopes, expiresInSeconds: flags['expires-in'] }), {
      quiet: this.jsonEnabled(),
    })
    this.renderSecret(issued, renderN8nIssued(issued))
    return issued
  }
}
