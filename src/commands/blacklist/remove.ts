import { MomentryCommand } from '../../base-command.js'
import { idArg } from '../../cli/flags.js'
import type { BlacklistEntry } from '../../core/blacklist/blacklist.js'
import { removeFromBlacklist } from '../../core/blacklist/blacklist.js'
import { renderBlacklistChange } from '../../ui/blacklist.js'

type Result = { entry: BlacklistEntry }

export default class BlacklistRemove extends MomentryCommand<Result> {
  static override summary = 'Lift a blacklist entry.'
  static override description = 'Give the address or range as it was added (any spelling of it: 2001:DB8::/32 finds 2001:db8::/32). The removal is audited and reaches running servers at once over Redis.'
  static override examples = ['<%= config.bin %> blacklist remove 198.51.100.0/24']
  static override args = { target: idArg('IP or CIDR range, as listed') }

  async run(): Promise<Result> {
    const { args } = await this.parse(BlacklistRemove)
    const result = { entry: await removeFromBlacklist(this.ctx, args.target) }
    this.render(result, (r) => renderBlacklistChange(r.entry, 'removed'))
    return result
  }
}
