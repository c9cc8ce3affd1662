import { Flags } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import { durationFlag } from '../../cli/flags.js'
import type { CleanupResult } from '../../core/api-keys/cleanup.js'
import { cleanup } from '../../core/api-keys/cleanup.js'
import { renderCleanup } from '../../ui/keys.js'

export default class ApiKeyCleanup extends MomentryCommand<CleanupResult> {
  static override summary = 'Purge keys and resolved anomalies past retention, and old usage aggregates; never audit rows.'
  static override description = `Removes, in one transaction: keys revoked, expired, or rotated away with their grace period over, more than --older-than ago; anomalies resolved that long ago, and every anomaly of a removed key; usage aggregates older than MOMENTRY_USAGE_RETENTION (default 400d).
Audit rows stay; the purge itself is audited (action key.cleanup) with the ids it removed. --dry-run lists exactly the same and changes nothing.`
  static override examples = [
    '<%= config.bin %> api-key cleanup --dry-run',
    '<%= config.bin %> api-key cleanup --older-than 180d',
    '<%= config.bin %> api-key cleanup --json',
  ]

  static override flags = {
    'dry-run': Flags.boolean({ summary: 'Show what would be removed; change nothing.' }),
    'older-than': durationFlag({ summary: 'Remove keys and resolved anomalies that ended longer ago than this (default 90d).', example: '90d' }),
  }

  async run(): Promise<CleanupResult> {
    const { flags } = await this.parse(ApiKeyCleanup)
    const result = await cleanup(this.ctx, { olderThanSeconds: flags['older-than'], dryRun: flags['dry-run'] })
    this.render(result, renderCleanup)
    return result
  }
}
