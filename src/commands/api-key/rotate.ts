import { Flags } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import { durationFlag, keyIdArg } from '../../cli/flags.js'
import { credentialStore } from '../../cli/integrations.js'
import type { DueRotation, RotatedKey } from '../../core/api-keys/rotate-key.js'
import { rotateDueKeys, rotateKey } from '../../core/api-keys/rotate-key.js'
import type { StoredDueRotation } from '../../core/api-keys/rotate-to-store.js'
import { rotateDueKeysToStore } from '../../core/api-keys/rotate-to-store.js'
import { UsageError } from '../../core/errors.js'
import { renderDueRotations, renderRotated, renderStoredRotations } from '../../ui/keys.js'

type Result = RotatedKey | DueRotation | StoredDueRotation

export default class ApiKeyRotate extends MomentryCommand<Result> {
  static override summary = 'Replace a key with a new one; the old one keeps working for its grace period.'
  static override description = `Grace periods by type: system 72h, user 24h, service 48h, integration 24h, emergency 0 (revoked at once).
--force revokes the old key at once (security incident). --due rotates every key whose --rotate-every interval has passed and prints each new key on stdout as "<new id> <key>", with a summary on stderr (--json for cron); with --to-keychain each new key goes into the credential store instead (OS keychain, else the 0600 file in MOMENTRY_DATA_DIR) under the account api-key/<key name>, and only where it went is printed.`
  static override examples = [
    '<%= config.bin %> api-key rotate key_8f3kQ2mZp0aXy7Lb',
    '<%= config.bin %> api-key rotate key_8f3kQ2mZp0aXy7Lb --grace 12h',
    '<%= config.bin %> api-key rotate key_8f3kQ2mZp0aXy7Lb --force --reason "posted in a public issue"',
    '<%= config.bin %> api-key rotate --due --json',
    '<%= config.bin %> api-key rotate --due --to-keychain',
  ]

  // Two ways to call it; oclif's generated line cannot say so (it nests the exclusions into
  // `[--due | [--force | --grace …] | ]`), so the usage is written out.
  static override usage = [
    '<%= command.id %> ID [--force | --grace <n>s|m|h|d|w] [--reason <value>] [--json]',
    '<%= command.id %> --due [--to-keychain] [--json]',
  ]

  static override args = { id: keyIdArg() }
  static override flags = {
    force: Flags.boolean({ summary: 'Revoke the old key now instead of giving it a grace period.', exclusive: ['grace'] }),
    grace: durationFlag({ summary: "Grace period for the old key instead of its type's default.", allowZero: true, example: '12h', exclusive: ['force'] }),
    reason: Flags.string({ summary: 'Why; kept in the audit log (--due records "scheduled rotation").', exclusive: ['due'] }),
    due: Flags.boolean({ summary: 'Rotate every key whose rotation interval has passed.', exclusive: ['force', 'grace', 'reason'] }),
    'to-keychain': Flags.boolean({ summary: 'With --due: store each new key in the credential store as api-key/<name> instead of printing it.', dependsOn: ['due'] }),
  }

  async run(): Promise<Result> {
    const { args, flags } = await this.parse(ApiKeyRotate)
    if (flags.due) {
      if (args.id) throw new UsageError('give a key id or --due, not both')
      if (flags['to-keychain']) {
        const stored = await rotateDueKeysToStore(this.ctx, credentialStore(this.ctx))
        this.render(stored, () => renderStoredRotations(stored))
        return stored
      }
      const due = await rotateDueKeys(this.ctx)
      const out = renderDueRotations(due)
      if (out.stdout) this.renderSecret(due, out)
      else this.note(out.stderr)
      return due
    }
    if (!args.id) throw new UsageError('missing key id', 'Run `momentry api-key rotate key_…`, or `--due` for scheduled rotations')
    const rotated = await rotateKey(this.ctx, { id: args.id, force: flags.force, graceSeconds: flags.grace, reason: flags.reason })
    this.renderSecret(rotated, renderRotated(rotated))
    return rotated
  }
}
