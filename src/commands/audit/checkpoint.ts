import { writeFile } from 'node:fs/promises'

import { Flags } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import type { CheckpointResult } from '../../core/audit/audit-trail.js'
import { writeCheckpoint } from '../../core/audit/audit-trail.js'
import { UsageError } from '../../core/errors.js'
import { renderCheckpoint } from '../../ui/audit.js'

type Result = CheckpointResult & { file?: string }

export default class AuditCheckpoint extends MomentryCommand<Result> {
  static override summary = 'Sign the audit chain head (Ed25519) as a note to keep outside the database.'
  static override description = `The note (C2SP signed-note style) names this database, the last row's sequence number and hash, and the time. Kept elsewhere (a git repository, a webhook receiver), it lets \`audit verify --checkpoint\` catch a chain cut back past it.`
  static override examples = [
    '<%= config.bin %> audit checkpoint --out checkpoints/$(date +%F).note',
    '<%= config.bin %> audit checkpoint --json',
  ]

  static override flags = {
    out: Flags.string({ summary: 'Write the note to this file (else it is printed).', helpValue: 'FILE' }),
  }

  async run(): Promise<Result> {
    const { flags } = await this.parse(AuditCheckpoint)
    const checkpoint = await writeCheckpoint(this.ctx)
    if (flags.out) {
      await writeFile(flags.out, checkpoint.note, { flag: 'wx' }).catch((e: NodeJS.ErrnoException) => {
        throw new UsageError(`cannot write ${flags.out} (${e.code === 'EEXIST' ? 'it exists' : (e.code ?? 'error')})`, 'Give a new file name: checkpoints are never overwritten')
      })
    }
    const result = { ...checkpoint, ...(flags.out ? { file: flags.out } : {}) }
    this.render(result, renderCheckpoint)
    return result
  }
}
