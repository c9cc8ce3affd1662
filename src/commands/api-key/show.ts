import { MomentryCommand } from '../../base-command.js'
import { keyIdArg } from '../../cli/flags.js'
import type { KeyDetails } from '../../core/api-keys/list-keys.js'
import { showKey } from '../../core/api-keys/list-keys.js'
import { renderKeyDetails } from '../../ui/keys.js'

export default class ApiKeyShow extends MomentryCommand<KeyDetails> {
  static override summary = 'Show one API key and its history.'
  static override examples = ['<%= config.bin %> api-key show key_8f3kQ2mZp0aXy7Lb', '<%= config.bin %> api-key show key_8f3kQ2mZp0aXy7Lb --json']
  static override args = { id: keyIdArg({ required: true }) }

  async run(): Promise<KeyDetails> {
    const { args } = await this.parse(ApiKeyShow)
    const details = await showKey(this.ctx, args.id)
    this.render(details, renderKeyDetails)
    return details
  }
}
