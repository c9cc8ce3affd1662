import { MomentryCommand } from '../../base-command.js'
import type { StopResult as Result } from '../../core/db/database-status.js'
import { describeClients, stopEmbeddedDatabase } from '../../core/db/database-status.js'
import { renderEmbedded } from '../../ui/system.js'

export default class DbStop extends MomentryCommand<Result> {
  static override summary = 'Stop the embedded PostgreSQL now (fast shutdown: nothing committed is lost).'
  static override description = 'Only in embedded mode (no DATABASE_URL). The next command that needs it starts it again; the sessions it ended are listed (--json: clients), since a running serve or watch among them starts it again on its next query.'
  static override examples = ['<%= config.bin %> db stop', '<%= config.bin %> db stop --json']

  async run(): Promise<Result> {
    await this.parse(DbStop)
    const status = await stopEmbeddedDatabase(this.ctx)
    this.render(status, (s) => [s.stopped ? 'Stopped the embedded PostgreSQL.' : 'The embedded PostgreSQL was not running.', ...(s.clients.length ? [`Ended: ${describeClients(s.clients)} connected.`] : []), renderEmbedded(s)].join('\n'))
    return status
  }
}
