import { MomentryCommand } from '../../base-command.js'
import { stopEmbeddedDatabase } from '../../core/db/database-status.js'
import type { EmbeddedStatus } from '../../core/embedded/embedded-server.js'
import { renderEmbedded } from '../../ui/system.js'

type Result = EmbeddedStatus & { stopped: boolean }

export default class DbStop extends MomentryCommand<Result> {
  static override summary = 'Stop the embedded PostgreSQL now (fast shutdown: nothing committed is lost).'
  static override description = 'Only in embedded mode (no DATABASE_URL). The next command that needs it starts it again.'
  static override examples = ['<%= config.bin %> db stop', '<%= config.bin %> db stop --json']

  async run(): Promise<Result> {
    await this.parse(DbStop)
    const status = await stopEmbeddedDatabase(this.ctx)
    this.render(status, (s) => `${s.stopped ? 'Stopped the embedded PostgreSQL.' : 'The embedded PostgreSQL was not running.'}\n${renderEmbedded(s)}`)
    return status
  }
}
