import { Flags } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import { durationFlag, keyIdArg } from '../../cli/flags.js'
import type { DueRotation, RotatedKey } from '../../core/api-keys/rotate-key.js'
import { rotateDueKeys, rotateKey } from '../../core/api-keys/rotate-key.js'
import { UsageError } from '../../core/errors.js'
import { renderRotated } from '../../ui/keys.js'

export default class ApiKeyRotate extends MomentryCommand<RotatedKey | DueRotation> {
  static override summary = 'Replace a key with a new one; the old one keeps working for its grace period.'
  static override description = `Grace periods by type: system 72h, user 24h, service 48h, integration 24h, emergency 0 (revoked at once).
--force revokes the old key at once (security incident). --due rotates every key whose --rotate-every interval has passed and prints the new keys as JSON (for cron).`
  static override examples = [
    '<%= config.bin %> api-key rotate key_8f3kQ2mZp0aXy7Lb',
    '<%= config.bin %> api-key rotate key_8f3kQ2mZp0aXy7Lb --grace 12h',
    '<%= config.bin %> api-key rotate key_8f3kQ2mZp0aXy7Lb --force --reason "posted in a public issue"',
    '<%= config.bin %> api-key rotate --due --json',
  ]

  static override args = { id: keyIdArg() }
  static override flags = {
    force: Flags.boolean({ summary: 'Revoke the old key now instead of giving it a grace period.', exclusive: ['grace'] }),
    grace: durationFlag({ summary: "Grace period for the old key instead of its type's default.", allowZero: true, exclusive: ['force'] }),
    reason: Flags.string({ summary: 'Why; kept in the audit log.' }),
    due: Flags.boolean({ summary: 'Rotate every key whose rotation interval has passed.', exclusive: ['force', 'grace'] }),
  }

  async run(): Promise<RotatedKey | DueRotation> {
    const { args, flags } = await this.parse(ApiKeyRotate)
    if (flags.due) {
      if (args.id) throw new UsageError('give a key id or --due, not both')
      const due = await rotateDueKeys(this.ctx)
      this.render(due, (d) => JSON.stringify(d, null, 2))
      return due
    }
    if (!args.id) throw new UsageError('missing key id', 'Run `momentry api-key rotate key_…`, or `--due` for scheduled rotations')
    const rotated = await rotateKey(this.ctx, { id: args.id, force: flags.force, graceSeconds: flags.grace, reason: flags.reason })
    this.renderSecret(rotated, renderRotated(rotated))
    return rotated
  }
}
