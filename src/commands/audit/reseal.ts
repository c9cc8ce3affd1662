import { Flags } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import { resealAudit } from '../../core/audit/audit-trail.js'
import { UsageError } from '../../core/errors.js'

type Result = Awaited<ReturnType<typeof resealAudit>>

export default class AuditReseal extends MomentryCommand<Result> {
  static override summary = 'Record a legitimate restore: checkpoints older than this row are superseded, not tampering.'
  static override description = `After restoring the database from a backup, checkpoints kept elsewhere vouch for rows the backup does not have. An epoch row with the reason makes \`audit verify\` report them as superseded by the reseal; the reseal itself is a visible audit row.`
  static override examples = ["<%= config.bin %> audit reseal --reason 'restored the 2026-11-30 backup after disk loss'"]

  static override flags = {
    reason: Flags.string({ summary: 'Why the chain is resealed (kept, encrypted, in the epoch row).', required: true }),
  }

  async run(): Promise<Result> {
    const { flags } = await this.parse(AuditReseal)
    if (!flags.reason.trim()) throw new UsageError('--reason is empty', 'Say why the chain is resealed, e.g. --reason "restored the 2026-11-30 backup"')
    const result = await resealAudit(this.ctx, flags.reason.trim())
    this.render(result, (r) => `resealed at row ${r.seq} (the chain was at ${r.previousHead})`)
    return result
  }
}
