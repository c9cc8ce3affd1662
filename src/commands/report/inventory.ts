import { Flags } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import { tableWidth, wideFlag } from '../../cli/table-width.js'
import { isoDateFlag } from '../../cli/flags.js'
import { driftSessions } from '../../cli/integrations.js'
import { writeReportFile } from '../../cli/write-report.js'
import type { Inventory } from '../../core/reports/inventory.js'
import { parseSince } from '../../core/audit/list-audit.js'
import { buildInventory } from '../../core/reports/inventory.js'
import { checkInventoryDrift } from '../../core/reports/inventory-drift.js'
import { buildReportSummary } from '../../core/reports/summary.js'
import { renderInventoryHtml } from '../../ui/html/inventory-html.js'
import type { InventoryFormat } from '../../ui/inventory.js'
import { INVENTORY_FORMATS, renderInventory } from '../../ui/inventory.js'

export default class ReportInventory extends MomentryCommand<Inventory> {
  static override summary = 'Every credential in one list: momentry keys, Gitea tokens and n8n API keys, with age, expiry, last use and status.'
  static override description =
    'Built from momentry’s own records (no network) unless --drift is given: then the Gitea and n8n servers with stored credentials are asked for their lists, each tracked token or key is marked `in sync` or `gone`, and what they have that momentry did not make is listed as untracked. Gitea and n8n do not report last use. Never contains a secret.'
  static override examples = [
    '<%= config.bin %> report inventory',
    '<%= config.bin %> report inventory --format csv --out inventory.csv',
    '<%= config.bin %> report inventory --drift',
    '<%= config.bin %> report inventory --since 90d      # what existed in the last 90 days, ended ones included',
    '<%= config.bin %> report inventory --format md > INVENTORY.md',
    '<%= config.bin %> report inventory --format html --out inventory.html',
    '<%= config.bin %> report inventory --json',
  ]

  static override flags = {
    format: Flags.string({ summary: 'Output format (html: a self-contained page with charts, to open in a browser or print).', options: [...INVENTORY_FORMATS], default: 'table' }),
    since: Flags.string({ summary: 'Only credentials that existed since then: a duration back from --until (90d) or an ISO date (default: all).', helpValue: '90d|DATE' }),
    until: isoDateFlag({ summary: 'Only credentials created before this time (default now).' }),
    drift: Flags.boolean({ summary: 'Also ask the Gitea and n8n servers for their lists and mark each credential in sync or gone (a server that cannot be asked is reported, not fatal).' }),
    out: Flags.string({ summary: 'Write the report to this file instead of stdout (atomically: a temporary file, then a rename).', helpValue: 'FILE' }),
    wide: wideFlag,
  }

  async run(): Promise<Inventory> {
    const { flags } = await this.parse(ReportInventory)
    const until = flags.until ?? (flags.since ? this.ctx.clock.now() : undefined)
    const recorded = await buildInventory(this.ctx, { since: flags.since ? parseSince(flags.since, until!) : undefined, until })
    const inventory = flags.drift ? await checkInventoryDrift(this.ctx, recorded, driftSessions(this.ctx)) : recorded
    for (const c of inventory.checks) if (c.status === 'failed') this.note(`drift: ${c.service} could not be asked: ${c.message}`)
    const format = flags.format as InventoryFormat
    const text = format === 'html' ? renderInventoryHtml(inventory, await buildReportSummary(this.ctx)) : renderInventory(inventory, format, tableWidth(flags))
    if (flags.out) {
      await writeReportFile(flags.out, text)
      this.note(`Wrote ${inventory.items.length} credential(s) to ${flags.out} (${flags.format}).`)
    } else {
      this.render(inventory, () => text)
    }
    return inventory
  }
}
