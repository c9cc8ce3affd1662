import { MomentryCommand } from '../../base-command.js'
import type { KeyStats } from '../../core/api-keys/key-stats.js'
import { keyStats } from '../../core/api-keys/key-stats.js'
import { renderStats } from '../../ui/keys.js'

export default class ApiKeyStats extends MomentryCommand<KeyStats> {
  static override summary = 'Count keys by type and status; show what expires or is due for rotation soon, the last 24 h of validations, open anomalies and locked-out IPs.'
  static override description = 'Locked-out IPs come from Redis when REDIS_URL is set (unknown while it is unreachable), else from PostgreSQL. The text lists the first 10 with the time left; --json lists them all.'
  static override examples = ['<%= config.bin %> api-key stats', '<%= config.bin %> api-key stats --json']

  async run(): Promise<KeyStats> {
    await this.parse(ApiKeyStats)
    const stats = await keyStats(this.ctx)
    this.render(stats, renderStats)
    return stats
  }
}
