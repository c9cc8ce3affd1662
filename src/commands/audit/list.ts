import { Flags } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import { tableWidth, wideFlag } from '../../cli/table-width.js'
import type { AuditPage } from '../../core/audit/list-audit.js'
import { listAudit } from '../../core/audit/list-audit.js'
import { renderAuditEvents } from '../../ui/audit.js'

export default class AuditList extends MomentryCommand<AuditPage> {
  static override summary = 'List audit rows, oldest first, with their details decrypted.'
  static override examples = [
    '<%= config.bin %> audit list --key key_0123456789abcdef',
    "<%= config.bin %> audit list --action 'key.*' --since 7d --json",
    '<%= config.bin %> audit list --actor cli:alice --limit 100 --cursor 4711',
  ]

  static override flags = {
    key: Flags.string({ summary: 'Only rows about this key.' }),
    action: Flags.string({ summary: 'Only this action (key.revoke), or a family (key.*).' }),
    actor: Flags.string({ summary: 'Only rows by this actor (cli:alice, http:key_…).' }),
    since: Flags.string({ summary: 'Only rows since a duration ago (7d) or a date (2026-11-01).' }),
    limit: Flags.integer({ summary: 'Rows per page (1–1000).', default: 50, min: 1, max: 1000 }),
    cursor: Flags.string({ summary: 'Continue after a previous page (its nextCursor).' }),
    wide: wideFlag,
  }

  async run(): Promise<AuditPage> {
    const { flags } = await this.parse(AuditList)
    const page = await listAudit(this.ctx, { key: flags.key, action: flags.action, actor: flags.actor, since: flags.since, limit: flags.limit, cursor: flags.cursor })
    this.render(page, (p) => renderAuditEvents(p, tableWidth(flags)))
    if (page.nextCursor) this.note(`More rows: add --cursor ${page.nextCursor}`)
    return page
  }
}
