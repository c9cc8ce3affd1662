import { MomentryCommand } from '../base-command.js'
import { credentialStore } from '../cli/integrations.js'
import { withProgress } from '../cli/progress.js'
import type { DoctorReport } from '../core/doctor.js'
import { runDoctor } from '../core/doctor.js'
import { ExitCode } from '../core/errors.js'
import { renderDoctor } from '../ui/system.js'

export default class Doctor extends MomentryCommand<DoctorReport> {
  static override summary = 'Check PostgreSQL (and migrations), Redis, the keychain, Gitea and n8n; one line each, with a fix for what fails.'
  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --json']

  async run(): Promise<DoctorReport> {
    await this.parse(Doctor)
    const report = await withProgress('Checking PostgreSQL, Redis, the keychain, Gitea and n8n', () => runDoctor(this.ctx, { credentials: credentialStore(this.ctx) }), { quiet: this.jsonEnabled() })
    if (!report.ok) this.setExitCode(ExitCode.CONFIG)
    this.render(report, renderDoctor)
    return report
  }
}
