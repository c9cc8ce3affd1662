import { Flags } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import { keyIdArg } from '../../cli/flags.js'
import { revokeKey } from '../../core/api-keys/change-key-state.js'
import type { KeyView } from '../../core/api-keys/key-view.js'
import { renderKeyChange } from '../../ui/keys.js'

type Result = { key: KeyView }

export default class ApiKeyRevoke extends MomentryCommand<Result> {
  static override summary = 'Revoke an API key; it stops validating at once, for good.'
  static override examples = ['<%= config.bin %> api-key revoke key_8f3kQ2mZp0aXy7Lb --reason "leaked in CI log"']
  static override args = { id: keyIdArg({ required: true }) }
  static override flags = { reason: Flags.string({ summary: 'Why; kept in the audit log.' }) }

  async run(): Promise<Result> {
    const { args, flags } = await this.parse(ApiKeyRevoke)
    const key = await revokeKey(this.ctx, { id: args.id, reason: flags.reason })
    const result = { key }
    this.render(result, (r) => renderKeyChange('revoked')(r.key))
    return result
  }
}
