import { Args, Flags } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import type { ImportSummary } from '../../core/db/export-import.js'
import { importDatabase } from '../../core/db/export-import.js'
import { renderImport } from '../../ui/system.js'

export default class DbImport extends MomentryCommand<ImportSummary> {
  static override summary = 'Load a `db export` file into the database in use (embedded, or DATABASE_URL): all of it or nothing.'
  static override description =
    'The database is created and migrated first. One that already holds momentry data is refused unless --replace empties it first. Keys keep validating: only their hashes moved.'
  static override examples = [
    'DATABASE_URL=postgres://postgres@db:5432/momentry <%= config.bin %> db import momentry.export',
    '<%= config.bin %> db import momentry.export --replace --json',
  ]

  static override args = { file: Args.string({ required: true, description: 'a file made by `momentry db export`', ignoreStdin: true }) }
  static override flags = { replace: Flags.boolean({ summary: 'Empty the momentry tables of this database before loading.' }) }

  async run(): Promise<ImportSummary> {
    const { args, flags } = await this.parse(DbImport)
    const summary = await importDatabase(this.ctx, args.file, { replace: flags.replace })
    this.render(summary, renderImport)
    return summary
  }
}
