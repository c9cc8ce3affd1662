import { Flags } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import { durationFlag, isoDateFlag, metaFlag, scopesFlag } from '../../cli/flags.js'
import type { IssuedKey } from '../../core/api-keys/create-key.js'
import { createKey } from '../../core/api-keys/create-key.js'
import { KEY_TYPES } from '../../core/api-keys/key-types.js'
import { renderIssued } from '../../ui/keys.js'

export default class ApiKeyCreate extends MomentryCommand<IssuedKey> {
  static override summary = 'Issue a new API key; the key is printed once and only its hash is kept.'
  static override description =
    'The raw key goes to stdout alone (so `> file` captures exactly it); everything else goes to stderr. With --json it is the `secret` field.'
  static override examples = [
    '<%= config.bin %> api-key create --name ci --type service',
    '<%= config.bin %> api-key create --name billing-export --type integration --scopes invoices:read,exports:write --owner payments --expires-in 90d --meta ticket=OPS-12',
    '<%= config.bin %> api-key create --name nightly --type system --rotate-every 30d --json',
  ]

  static override inputNames = { metadata: '--meta' }
  static override flags = {
    name: Flags.string({ summary: 'Human name of the key (1–100 characters).', required: true }),
    type: Flags.string({ summary: 'Key type; sets the rotation grace period.', options: [...KEY_TYPES], required: true }),
    scopes: scopesFlag('Comma-separated scopes, e.g. keys:read,admin.'),
    owner: Flags.string({ summary: 'Who owns the key (free text, e.g. a team or person).' }),
    'expires-in': durationFlag({ summary: 'Lifetime, e.g. 30d.', example: '30d', exclusive: ['expires-at'] }),
    'expires-at': isoDateFlag({ summary: 'Expiry date-time (ISO-8601).', exclusive: ['expires-in'] }),
    'rotate-every': durationFlag({ summary: 'Rotation interval; `rotate --due` rotates keys past it.', example: '90d' }),
    meta: metaFlag(),
  }

  async run(): Promise<IssuedKey> {
    const { flags } = await this.parse(ApiKeyCreate)
    const issued = await createKey(this.ctx, {
      name: flags.name,
      type: flags.type as (typeof KEY_TYPES)[number],
      scopes: flags.scopes,
      owner: flags.owner,
      expiresInSeconds: flags['expires-in'],
      expiresAt: flags['expires-at'],
      rotateEverySeconds: flags['rotate-every'],
      metadata: Object.fromEntries((flags.meta ?? []).map((m) => [m.key, m.value])),
    })
    this.renderSecret(issued, renderIssued(issued))
    return issued
  }
}
