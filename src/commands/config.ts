import { MomentryCommand } from '../base-command.js'
import type { ConfigEntry } from '../core/config.js'
import { describeConfig } from '../core/config.js'
import { renderConfig } from '../ui/system.js'

export default class ConfigShow extends MomentryCommand<ConfigEntry[]> {
  static override summary = 'Show the effective configuration and where each value came from (secrets redacted).'
  static override examples = ['<%= config.bin %> config', '<%= config.bin %> config --json']

  async run(): Promise<ConfigEntry[]> {
    await this.parse(ConfigShow)
    const entries = describeConfig(process.env)
    this.render(entries, renderConfig)
    return entries
  }
}
