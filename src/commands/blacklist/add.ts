import { Flags } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import { durationFlag, idArg } from '../../cli/flags.js'
import type { BlacklistAddResult } from '../../core/blacklist/blacklist.js'
import { addToBlacklist } from '../../core/blacklist/blacklist.js'
import { renderBlacklistAdd } from '../../ui/blacklist.js'

export default class BlacklistAdd extends MomentryCommand<BlacklistAddResult> {
  static override summary = 'Refuse every validation from an IP address or CIDR range (checked first).'
  static override description = `The blacklist is checked before anything else, so a refused address learns nothing about the key it sent (BLACKLISTED, exit 4). IPv4, IPv6 and IPv4-mapped ranges are accepted and stored in PostgreSQL as cidr; running servers hear of the change at once over Redis (and re-read the list every 30 s without it). Adding a range that is listed already changes only what you give (--reason, --expires-in, or --permanent to drop the expiry), keeps the rest and says what changed. An address with host bits set (198.51.100.5/24) blocks its whole range (198.51.100.0/24), and says so. The addition is audited.`
  static override examples = [
    '<%= config.bin %> blacklist add 203.0.113.7 --reason "credential stuffing"',
    '<%= config.bin %> blacklist add 198.51.100.0/24 --expires-in 7d',
    '<%= config.bin %> blacklist add 198.51.100.0/24 --permanent',
    '<%= config.bin %> blacklist add 2001:db8::/32 --json',
  ]

  static override args = { target: idArg('IP or CIDR range') }
  static override flags = {
    reason: Flags.string({ summary: 'Why; kept with the entry and in the audit log.' }),
    'expires-in': durationFlag({ summary: 'Lift the entry automatically after this long, e.g. 7d.', example: '7d', exclusive: ['permanent'] }),
    permanent: Flags.boolean({ summary: 'Never lift the entry: clears the expiry of a listed range.', exclusive: ['expires-in'] }),
  }

  async run(): Promise<BlacklistAddResult> {
    const { args, flags } = await this.parse(BlacklistAdd)
    const result = await addToBlacklist(this.ctx, { target: args.target, reason: flags.reason, expiresInSeconds: flags['expires-in'], permanent: flags.permanent || undefined })
    this.render(result, renderBlacklistAdd)
    return result
  }
}
