import { Flags } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import { tableWidth, wideFlag } from '../../cli/table-width.js'
import { isoDateFlag } from '../../cli/flags.js'
import { writeReportFile } from '../../cli/write-report.js'
import { parseSince } from '../../core/audit/list-audit.js'
import type { SecurityReport } from '../../core/reports/security-report.js'
import { buildSecurityReport } from '../../core/reports/security-report.js'
import { renderSecurityHtml } from '../../ui/html/security-html.js'
import type { SecurityFormat } from '../../ui/security-report.js'
import { SECURITY_FORMATS, renderSecurityReport } from '../../ui/security-report.js'

export default class ReportSecurity extends MomentryCommand<SecurityReport> {
  static override summary = 'Failures by code and source, lockouts, blacklist hits, anomalies, keys overdue for rotation, expiring, without expiry or owner, and the audit chain.'
  static override description =
    'Failures come from the per-minute failure table (every refused validation, by code and source IP), lockouts from the audit log, and the key lists are the live keys (active, rotating or disabled) now. The window is [--since, --until) in UTC days, as for `report usage`; `audit verify` is run when the report is made.'
  static override examples = [
    '<%= config.bin %> report security',
    '<%= config.bin %> report security --since 7d --format md > SECURITY.md',
    '<%= config.bin %> report security --since 2027-01-01 --until 2027-02-01 --format csv --out january-security.csv',
    '<%= config.bin %> report security --format html --out security.html',
    '<%= config.bin %> report security --json',
  ]

  static override flags = {
    since: Flags.string({ summary: 'Start of the window: a duration back from --until (30d) or an ISO date.', default: '30d', helpValue: '30d|DATE' }),
    until: isoDateFlag({ summary: 'End of the window, exclusive (default now).' }),
    format: Flags.string({ summary: 'Output format (html: a self-contained page with charts, to open in a browser or print).', options: [...SECURITY_FORMATS], default: 'table' }),
    out: Flags.string({ summary: 'Write the report to this file instead of stdout (atomically: a temporary file, then a rename).', helpValue: 'FILE' }),
    wide: wideFlag,
  }

  async run(): Promise<SecurityReport> {
    const { flags } = await this.parse(ReportSecurity)
    const until = flags.until ?? this.ctx.clock.now()
    const report = await buildSecurityReport(this.ctx, { since: parseSince(flags.since, until), until })
    const format = flags.format as SecurityFormat
    const text = format === 'html' ? renderSecurityHtml(report) : renderSecurityReport(report, format, tableWidth(flags))
    if (flags.out) {
      await writeReportFile(flags.out, text)
      this.note(`Wrote the security report over ${report.days.length} day(s) (${report.totals.failures} failure(s)) to ${flags.out} (${flags.format}).`)
    } else {
      this.render(report, () => text)
    }
    return report
  }
}
