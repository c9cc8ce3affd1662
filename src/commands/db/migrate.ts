import { MomentryCommand } from '../../base-command.js'
import type { MigrateResult } from '../../core/db/migrate.js'
import { migrateDatabase } from '../../core/db/migrate-database.js'

type Result = MigrateResult & { database: string; sealedWebhookSecrets: number }

export default class DbMigrate extends MomentryCommand<Result> {
  static override summary = 'Create the database if needed and apply pending migrations (safe to run any time).'
  static override description = 'Migrations from sql/ are applied in order, in one transaction, under an advisory lock; an applied file that was changed since is refused. Webhook signing secrets still stored in the clear (from before sql/0013) are then sealed under the audit key.'
  static override examples = ['<%= config.bin %> db migrate', 'DATABASE_URL=postgres://postgres@127.0.0.1:5432/momentry <%= config.bin %> db migrate --json']

  async run(): Promise<Result> {
    await this.parse(DbMigrate)
    const result = await migrateDatabase(this.ctx)
    this.render(result, (r) =>
      [
        r.createdDatabase ? `Created database ${r.database}.` : '',
        r.applied.length ? `Applied ${r.applied.join(', ')}.` : `Database ${r.database} is up to date (${r.current.length} migrations).`,
        r.sealedWebhookSecrets ? `Sealed ${r.sealedWebhookSecrets} webhook signing secret${r.sealedWebhookSecrets === 1 ? '' : 's'} stored in the clear under the audit key.` : '',
      ]
        .filter(Boolean)
        .join('\n'),
    )
    return result
  }
}
