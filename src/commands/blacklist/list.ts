import { MomentryCommand } from '../../base-command.js'
import { tableWidth, wideFlag } from '../../cli/table-width.js'
import type { BlacklistEntry } from '../../core/blacklist/blacklist.js'
import { listBlacklist } from '../../core/blacklist/blacklist.js'
import { renderBlacklist } from '../../ui/blacklist.js'

type Result = { items: BlacklistEntry[] }

export default class BlacklistList extends MomentryCommand<Result> {
  static override summary = 'List blacklisted addresses and ranges (expired entries are shown as inactive).'
  static override description = 'Every entry with its reason, who added it, when, and when it expires. An expired entry no longer refuses anything and is kept for the record.'
  static override examples = ['<%= config.bin %> blacklist list', '<%= config.bin %> blacklist list --json']

  static override flags = { wide: wideFlag }

  async run(): Promise<Result> {
    const { flags } = await this.parse(BlacklistList)
    const result = { items: await listBlacklist(this.ctx) }
    this.render(result, (r) => renderBlacklist(r.items, tableWidth(flags)))
    return result
  }
}
