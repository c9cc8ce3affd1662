import { Flags } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import { keyIdArg } from '../../cli/flags.js'
import { revokeKey } from '../../core/api-keys/change-key-state.js'
import type { KeyView } from '../../core/api-keys/key-view.js'
import { renderKeyChange } from '../../ui/keys.js'

export default class ApiKeyRevoke extends MomentryCommand<KeyView> {
  static override summary = 'Revoke an API key; it stops validating at once, for good.'
  static override examples = ['<%= config.bin %> api-key revoke key_8f3kQ2mZp0aXy7Lb --reason "leaked in CI log"']
  static override args = { id: keyIdArg({ required: true }) }
  static override flags = { reason: Flags.string({ summary: 'Why; kept in the audit log.' }) }

  async run(): Promise<KeyView> {
    const { args, flags } = await this.parse(ApiKeyRevoke)
    const key = await revokeKey(this.ctx, { id: args.id, reason: flags.reason })
    this.render(key, renderKeyChange('revoked'))
    return key
  }
}
