import { MomentryCommand } from '../base-command.js'
import { credentialStore } from '../cli/integrations.js'
import { describeConfig, invalidEntries } from '../core/config.js'
import { withProgress } from '../cli/progress.js'
import type { DoctorReport } from '../core/doctor.js'
import { doctorExitCode, invalidConfigReport, runDoctor } from '../core/doctor.js'
import { renderDoctor } from '../ui/system.js'

export default class Doctor extends MomentryCommand<DoctorReport> {
  static override summary = 'Check the configuration, PostgreSQL (and migrations), Redis, the keychain, Gitea and n8n; one line each, with a fix for what fails.'
  static override description = `Exit codes: 0 when nothing fails; 7 when only Gitea or n8n fail; 8 when the configuration, PostgreSQL, the migrations, Redis or the keychain fail.
An invalid environment variable is reported with every variable (as \`momentry config\` shows them), and the other checks wait until it is fixed.`
  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --json']

  async run(): Promise<DoctorReport> {
    await this.parse(Doctor)
    const config = describeConfig(process.env)
    // An invalid environment would stop the core from being built: report it instead.
    const report =
      invalidEntries(config).length > 0
        ? invalidConfigReport(config, process.env)
        : await withProgress('Checking PostgreSQL, Redis, the keychain, Gitea and n8n', () => runDoctor(this.ctx, { credentials: credentialStore(this.ctx) }, config), { quiet: this.jsonEnabled() })
    this.setExitCode(doctorExitCode(report))
    this.render(report, renderDoctor)
    return report
  }
}
