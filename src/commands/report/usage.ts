import { Flags } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import { tableWidth, wideFlag } from '../../cli/table-width.js'
import { isoDateFlag } from '../../cli/flags.js'
import { writeReportFile } from '../../cli/write-report.js'
import { parseSince } from '../../core/audit/list-audit.js'
import { buildReportSummary } from '../../core/reports/summary.js'
import type { UsageReport } from '../../core/reports/usage-report.js'
import { buildUsageReport } from '../../core/reports/usage-report.js'
import { renderUsageHtml } from '../../ui/html/usage-html.js'
import type { UsageFormat } from '../../ui/usage-report.js'
import { USAGE_FORMATS, renderUsageReport } from '../../ui/usage-report.js'

export default class ReportUsage extends MomentryCommand<UsageReport> {
  static override summary = 'Validations per key per day (ok / failed, failures by code), the busiest keys, keys never used in the window, and each key’s last use.'
  static override description =
    'Summed by PostgreSQL from the usage and failure tables, in UTC days. The window is [--since, --until): --since is a duration back from --until (30d) or a date; --until defaults to now, and a bare date means its midnight UTC (so --until 2027-02-01 ends with January 31). The table has a sparkline of each key’s validations per day; html is one self-contained page (inline SVG charts, each with a table of its numbers, the data embedded as JSON, no script, nothing fetched when opened).'
  static override examples = [
    '<%= config.bin %> report usage',
    '<%= config.bin %> report usage --since 7d --format md > USAGE.md',
    '<%= config.bin %> report usage --since 2027-01-01 --until 2027-02-01 --format csv --out january.csv',
    '<%= config.bin %> report usage --format html --out usage.html',
    '<%= config.bin %> report usage --json',
  ]

  static override flags = {
    since: Flags.string({ summary: 'Start of the window: a duration back from --until (30d) or an ISO date.', default: '30d', helpValue: '30d|DATE' }),
    until: isoDateFlag({ summary: 'End of the window, exclusive (default now).' }),
    format: Flags.string({ summary: 'Output format (html: a self-contained page with charts, to open in a browser or print).', options: [...USAGE_FORMATS], default: 'table' }),
    out: Flags.string({ summary: 'Write the report to this file instead of stdout (atomically: a temporary file, then a rename).', helpValue: 'FILE' }),
    wide: wideFlag,
  }

  async run(): Promise<UsageReport> {
    const { flags } = await this.parse(ReportUsage)
    const until = flags.until ?? this.ctx.clock.now()
    const report = await buildUsageReport(this.ctx, { since: parseSince(flags.since, until), until })
    const format = flags.format as UsageFormat
    const text = format === 'html' ? renderUsageHtml(report, await buildReportSummary(this.ctx)) : renderUsageReport(report, format, tableWidth(flags))
    if (flags.out) {
      await writeReportFile(flags.out, text)
      this.note(`Wrote the usage of ${report.totals.keys} key(s) over ${report.days.length} day(s) to ${flags.out} (${flags.format}).`)
    } else {
      this.render(report, () => text)
    }
    return report
  }
}
