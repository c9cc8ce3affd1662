import { MomentryCommand } from '../../base-command.js'
import type { LockoutList } from '../../core/validation/clear-lockouts.js'
import { listLockouts } from '../../core/validation/clear-lockouts.js'
import { renderLockouts } from '../../ui/lockouts.js'

export default class LockoutListCommand extends MomentryCommand<LockoutList> {
  static override summary = 'List the IP addresses locked out for too many failed validations, with the time each has left.'
  static override description =
    'An address is locked out after RATE_LIMIT_MAX_ATTEMPTS failed validations within RATE_LIMIT_WINDOW_SECONDS, for that window, valid keys included. The counters live in Redis when REDIS_URL is set (exit 8 while it is unreachable), else in PostgreSQL. Lift one with `momentry lockout clear IP`.'
  static override examples = ['<%= config.bin %> lockout list', '<%= config.bin %> lockout list --json']

  async run(): Promise<LockoutList> {
    await this.parse(LockoutListCommand)
    const list = await listLockouts(this.ctx)
    this.render(list, renderLockouts)
    return list
  }
}
