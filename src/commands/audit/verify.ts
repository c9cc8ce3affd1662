import { readFile } from 'node:fs/promises'

import { Flags } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import { verifyAudit } from '../../core/audit/audit-trail.js'
import type { VerifyReport } from '../../core/audit/verify-chain.js'
import { ExitCode, UsageError } from '../../core/errors.js'
import { renderVerify } from '../../ui/audit.js'

export default class AuditVerify extends MomentryCommand<VerifyReport> {
  static override summary = 'Re-walk the audit chain: exit 0 intact, 3 with the first broken link.'
  static override description = `Checks that the sequence has no gaps, that every row links to the one before and matches its own hash (no audit key needed), that the chain head names the last row, and that every checkpoint given (signed notes kept elsewhere) is a point of this chain — which is what catches a deleted tail.`
  static override examples = [
    '<%= config.bin %> audit verify',
    '<%= config.bin %> audit verify --checkpoint checkpoints/2026-12-01.note --json',
    '<%= config.bin %> audit verify --checkpoint a.note --checkpoint b.note --vkey momentry-audit+1a2b3c4d+AQ…',
  ]

  static override flags = {
    checkpoint: Flags.string({ summary: 'A checkpoint note file to check the chain against (repeatable).', multiple: true, helpValue: 'FILE' }),
    vkey: Flags.string({ summary: 'The verifier key of the notes (default: this installation\'s signing key).' }),
  }

  async run(): Promise<VerifyReport> {
    const { flags } = await this.parse(AuditVerify)
    const checkpoints = []
    for (const file of flags.checkpoint ?? []) {
      const note = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
        throw new UsageError(`cannot read checkpoint ${file} (${e.code ?? 'error'})`, 'Give a file written by `momentry audit checkpoint --out FILE`')
      })
      checkpoints.push({ source: file, note })
    }
    const report = await verifyAudit(this.ctx, { checkpoints, vkey: flags.vkey })
    if (!report.ok) this.setExitCode(ExitCode.KEY_INVALID)
    this.render(report, renderVerify)
    return report
  }
}
