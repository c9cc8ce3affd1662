import { MomentryCommand } from '../../base-command.js'
import { keyIdArg } from '../../cli/flags.js'
import { enableKey } from '../../core/api-keys/change-key-state.js'
import type { KeyView } from '../../core/api-keys/key-view.js'
import { renderKeyChange } from '../../ui/keys.js'

type Result = { key: KeyView }

export default class ApiKeyEnable extends MomentryCommand<Result> {
  static override summary = 'Switch a disabled API key back on.'
  static override examples = ['<%= config.bin %> api-key enable key_8f3kQ2mZp0aXy7Lb']
  static override args = { id: keyIdArg({ required: true }) }

  async run(): Promise<Result> {
    const { args } = await this.parse(ApiKeyEnable)
    const key = await enableKey(this.ctx, { id: args.id })
    const result = { key }
    this.render(result, (r) => renderKeyChange('enabled')(r.key))
    return result
  }
}
