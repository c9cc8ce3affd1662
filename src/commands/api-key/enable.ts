import { MomentryCommand } from '../../base-command.js'
import { keyIdArg } from '../../cli/flags.js'
import { enableKey } from '../../core/api-keys/change-key-state.js'
import type { KeyView } from '../../core/api-keys/key-view.js'
import { renderKeyChange } from '../../ui/keys.js'

export default class ApiKeyEnable extends MomentryCommand<KeyView> {
  static override summary = 'Switch a disabled API key back on.'
  static override examples = ['<%= config.bin %> api-key enable key_8f3kQ2mZp0aXy7Lb']
  static override args = { id: keyIdArg({ required: true }) }

  async run(): Promise<KeyView> {
    const { args } = await this.parse(ApiKeyEnable)
    const key = await enableKey(this.ctx, { id: args.id })
    this.render(key, renderKeyChange('enabled'))
    return key
  }
}
