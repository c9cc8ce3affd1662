import { Args, Flags } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import { UsageError } from '../../core/errors.js'
import type { ClearLockoutsResult } from '../../core/validation/clear-lockouts.js'
import { clearLockouts } from '../../core/validation/clear-lockouts.js'
import { renderLockoutsCleared } from '../../ui/lockouts.js'

export default class LockoutClear extends MomentryCommand<ClearLockoutsResult> {
  static override summary = 'Lift the lockout of an IP address (or of every address with --all).'
  static override description =
    'The address may validate again at once: its failed-attempt count starts again at zero, every running `serve` forgets the lockout immediately (over PostgreSQL NOTIFY), and each lifted address is audited (ip.lockout_cleared). Exit 5 when the address has nothing counted against it.'
  static override examples = ['<%= config.bin %> lockout clear 127.0.0.1', '<%= config.bin %> lockout clear --all --json']
  static override args = { ip: Args.string({ description: 'the locked-out IP address, as `lockout list` shows it', ignoreStdin: true }) }
  static override flags = {
    all: Flags.boolean({ summary: 'Lift every lockout in force now.', default: false }),
  }

  async run(): Promise<ClearLockoutsResult> {
    const { args, flags } = await this.parse(LockoutClear)
    if (flags.all && args.ip) throw new UsageError('give an IP address or --all, not both', 'Run `momentry lockout clear 203.0.113.7` or `momentry lockout clear --all`')
    if (!flags.all && !args.ip) throw new UsageError('name the IP address to lift, or --all', 'Run `momentry lockout list` to see the locked-out addresses')
    const result = await clearLockouts(this.ctx, flags.all ? { all: true } : { ip: args.ip! })
    this.render(result, renderLockoutsCleared)
    return result
  }
}
