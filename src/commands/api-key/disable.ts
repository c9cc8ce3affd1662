import { Flags } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import { keyIdArg } from '../../cli/flags.js'
import { disableKey } from '../../core/api-keys/change-key-state.js'
import type { KeyView } from '../../core/api-keys/key-view.js'
import { renderKeyChange } from '../../ui/keys.js'

type Result = { key: KeyView }

export default class ApiKeyDisable extends MomentryCommand<Result> {
  static override summary = 'Switch an API key off without revoking it (reversible with enable).'
  static override examples = ['<%= config.bin %> api-key disable key_8f3kQ2mZp0aXy7Lb --reason "investigating spike"']
  static override args = { id: keyIdArg({ required: true }) }
  static override flags = { reason: Flags.string({ summary: 'Why; kept in the audit log.' }) }

  async run(): Promise<Result> {
    const { args, flags } = await this.parse(ApiKeyDisable)
    const key = await disableKey(this.ctx, { id: args.id, reason: flags.reason })
    const result = { key }
    this.render(result, (r) => renderKeyChange('disabled')(r.key))
    return result
  }
}
