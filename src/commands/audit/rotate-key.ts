import { MomentryCommand } from '../../base-command.js'
import { rotateAuditKey } from '../../core/audit/audit-trail.js'

type Result = Awaited<ReturnType<typeof rotateAuditKey>>

export default class AuditRotateKey extends MomentryCommand<Result> {
  static override summary = 'Start a new audit key in the credential store; older keys stay readable.'
  static override description = `New audit rows are encrypted under the new key; rows written before keep naming their key and still decrypt. With MOMENTRY_AUDIT_KEY set, rotate by putting a new key first in that list instead.`
  static override examples = ['<%= config.bin %> audit rotate-key', '<%= config.bin %> audit rotate-key --json']

  async run(): Promise<Result> {
    await this.parse(AuditRotateKey)
    const result = await rotateAuditKey(this.ctx)
    this.render(result, (r) => `audit key ${r.current} now encrypts new rows (was ${r.previous}); kept in ${r.store}`)
    return result
  }
}
