import { MomentryCommand } from '../../base-command.js'
import type { DatabaseStatus } from '../../core/db/database-status.js'
import { databaseStatus } from '../../core/db/database-status.js'
import { ExitCode } from '../../core/errors.js'
import { renderDatabaseStatus } from '../../ui/system.js'

export default class DbStatus extends MomentryCommand<DatabaseStatus> {
  static override summary = 'Show the database momentry uses (embedded or DATABASE_URL) and each migration: applied, pending, or changed.'
  static override description =
`In embedded mode (no DATABASE_URL) it also shows the server’s state, pid, socket, data directory and size, without starting it.
Exits 8 (as every other command would on this database) when a migration is pending, changed or missing; 0 when the schema is current or the embedded server is stopped (nothing checked).`
  static override examples = ['<%= config.bin %> db status', '<%= config.bin %> db status --json']

  async run(): Promise<DatabaseStatus> {
    await this.parse(DbStatus)
    const status = await databaseStatus(this.ctx)
    this.render(status, renderDatabaseStatus)
    if (status.current === false) this.setExitCode(ExitCode.CONFIG)
    return status
  }
}
