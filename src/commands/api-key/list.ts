import { Flags } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import { tableWidth, wideFlag } from '../../cli/table-width.js'
import { KEY_STATUSES, KEY_TYPES } from '../../core/api-keys/key-types.js'
import type { KeyPage } from '../../core/api-keys/list-keys.js'
import { listKeys } from '../../core/api-keys/list-keys.js'
import { renderKeyPage } from '../../ui/keys.js'

export default class ApiKeyList extends MomentryCommand<KeyPage> {
  static override summary = 'List API keys, newest first, one page at a time.'
  static override examples = [
    '<%= config.bin %> api-key list',
    '<%= config.bin %> api-key list --type service --status active --owner payments',
    '<%= config.bin %> api-key list --limit 100 --cursor c1.MTIz --json',
  ]

  static override flags = {
    type: Flags.string({ summary: 'Only keys of this type.', options: [...KEY_TYPES] }),
    status: Flags.string({ summary: 'Only keys in this status.', options: [...KEY_STATUSES] }),
    owner: Flags.string({ summary: 'Only keys with exactly this owner.' }),
    limit: Flags.integer({ summary: 'Keys per page (1–1000).', default: 50, min: 1, max: 1000 }),
    cursor: Flags.string({ summary: 'Continue after a previous page (its nextCursor).' }),
    wide: wideFlag,
  }

  async run(): Promise<KeyPage> {
    const { flags } = await this.parse(ApiKeyList)
    const page = await listKeys(this.ctx, {
      type: flags.type as (typeof KEY_TYPES)[number] | undefined,
      status: flags.status as (typeof KEY_STATUSES)[number] | undefined,
      owner: flags.owner,
      limit: flags.limit,
      cursor: flags.cursor,
    })
    this.render(page, (p) => renderKeyPage(p, tableWidth(flags)))
    if (page.nextCursor) this.note(`More keys: add --cursor ${page.nextCursor}`)
    return page
  }
}
