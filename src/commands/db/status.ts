import { MomentryCommand } from '../../base-command.js'
import type { MigrationState } from '../../core/db/migrate.js'
import { migrationStatus } from '../../core/db/migrate.js'
import { renderMigrations } from '../../ui/system.js'

interface Result {
  current: boolean
  migrations: MigrationState[]
}

export default class DbStatus extends MomentryCommand<Result> {
  static override summary = 'Show each migration: applied, pending, or changed since it was applied.'
  static override examples = ['<%= config.bin %> db status', '<%= config.bin %> db status --json']

  async run(): Promise<Result> {
    await this.parse(DbStatus)
    const migrations = await migrationStatus(this.ctx.sql)
    const result = { current: migrations.every((m) => m.state === 'applied'), migrations }
    this.render(result, (r) => `${renderMigrations(r.migrations)}\n${r.current ? 'Up to date.' : 'Not current: run `momentry db migrate`.'}`)
    return result
  }
}
