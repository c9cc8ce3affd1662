import { MomentryCommand } from '../base-command.js'
import type { ConfigEntry } from '../core/config.js'
import { describeConfig, invalidEntries } from '../core/config.js'
import { ExitCode } from '../core/errors.js'
import { renderConfig } from '../ui/system.js'

type Result = { items: ConfigEntry[] }

export default class ConfigShow extends MomentryCommand<Result> {
  static override summary = 'Show the effective configuration and where each value came from (secrets redacted).'
  static override description =
    'An invalid variable stops every other command; here it is listed with what is wrong and how to fix it, among all the others, and the exit code is 8.'
  static override examples = ['<%= config.bin %> config', '<%= config.bin %> config --json', 'CACHE_TTL_SECONDS=abc <%= config.bin %> config']

  async run(): Promise<Result> {
    await this.parse(ConfigShow)
    const result = { items: describeConfig(process.env) }
    this.render(result, (r) => renderConfig(r.items))
    const invalid = invalidEntries(result.items)
    if (invalid.length > 0) {
      this.setExitCode(ExitCode.CONFIG)
      this.note(`Error: ${invalid.map((e) => e.name).join(', ')} ${invalid.length === 1 ? 'is' : 'are'} invalid (see above); every other command refuses to run until ${invalid.length === 1 ? 'it is' : 'they are'} fixed or unset`)
    }
    return result
  }
}
