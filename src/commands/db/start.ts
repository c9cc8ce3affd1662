import { MomentryCommand } from '../../base-command.js'
import { startEmbeddedDatabase } from '../../core/db/database-status.js'
import type { EmbeddedStatus } from '../../core/embedded/embedded-server.js'
import { renderEmbedded } from '../../ui/system.js'

export default class DbStart extends MomentryCommand<EmbeddedStatus> {
  static override summary = 'Start the embedded PostgreSQL now (it also starts by itself when a command needs it).'
  static override description = 'Only in embedded mode (no DATABASE_URL). It stops by itself after MOMENTRY_EMBEDDED_IDLE without a client.'
  static override examples = ['<%= config.bin %> db start', '<%= config.bin %> db start --json']

  async run(): Promise<EmbeddedStatus> {
    await this.parse(DbStart)
    const status = await startEmbeddedDatabase(this.ctx)
    this.render(status, renderEmbedded)
    return status
  }
}
