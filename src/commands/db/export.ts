import { Args } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import type { ExportSummary } from '../../core/db/export-import.js'
import { exportDatabase } from '../../core/db/export-import.js'
import { renderExport } from '../../ui/system.js'

export default class DbExport extends MomentryCommand<ExportSummary> {
  static override summary = 'Write everything momentry holds (keys, audit, anomalies, usage, blacklist, webhooks, Gitea/n8n records) to one file.'
  static override description =
    'From the database in use (embedded, or DATABASE_URL), in one consistent snapshot. The file is 0600: it holds webhook signing secrets (never a key). `db import` loads it elsewhere.'
  static override examples = ['<%= config.bin %> db export momentry.export', 'DATABASE_URL= <%= config.bin %> db export embedded.export --json']
  static override args = { file: Args.string({ required: true, description: 'file to write (replaced if it exists)', ignoreStdin: true }) }

  async run(): Promise<ExportSummary> {
    const { args } = await this.parse(DbExport)
    const summary = await exportDatabase(this.ctx, args.file)
    this.render(summary, renderExport)
    return summary
  }
}
