import { Flags } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import { idArg } from '../../cli/flags.js'
import { UsageError } from '../../core/errors.js'
import type { WebhookView } from '../../core/webhooks/repo.js'
import type { WebhookEvent } from '../../core/webhooks/webhook-events.js'
import { WEBHOOK_EVENTS } from '../../core/webhooks/webhook-events.js'
import { addWebhook } from '../../core/webhooks/webhooks.js'

type Result = { webhook: WebhookView; secret: string | null }

export default class WebhookAdd extends MomentryCommand<Result> {
  static override summary = 'Register a webhook endpoint; prints its generated signing secret (whsec_…) once.'
  static override description = `Deliveries are signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>). Events: ${WEBHOOK_EVENTS.join(', ')}.`
  static override examples = [
    '<%= config.bin %> webhook add https://ops.example.com/hooks/momentry --events key.revoked,anomaly.detected',
    'WEBHOOK_SECRET=whsec_… <%= config.bin %> webhook add https://ops.example.com/hooks --events ip.locked_out --secret-env WEBHOOK_SECRET',
  ]

  static override inputNames = { secret: 'the secret in the --secret-env variable' }
  static override args = { url: idArg('http(s) URL that receives POSTs') }
  static override flags = {
    events: Flags.string({ summary: `Comma-separated events: ${WEBHOOK_EVENTS.join(', ')}.`, required: true }),
    'secret-env': Flags.string({ summary: 'Use the signing secret in this environment variable instead of generating one (it is not printed back).', helpValue: 'VAR' }),
  }

  async run(): Promise<Result> {
    const { args, flags } = await this.parse(WebhookAdd)
    const envName = flags['secret-env']
    const secret = envName ? process.env[envName] : undefined
    if (envName && !secret) throw new UsageError(`--secret-env: ${envName} is not set or empty`)
    const result = await addWebhook(this.ctx, { url: args.url, events: flags.events.split(',').map((e) => e.trim()).filter(Boolean) as WebhookEvent[], secret })
    const added = `Added ${result.webhook.id} for ${result.webhook.events.join(', ')}.`
    if (result.secret === null) this.render(result, () => `${added} It signs with the secret in ${envName} (not shown).`)
    else this.renderSecret(result, { stdout: result.secret, stderr: `${added} The signing secret above is shown once.` })
    return result
  }
}
