import { Args, Flags } from '@oclif/core'

import { MomentryCommand } from '../../base-command.js'
import { ipFlag, parseScope } from '../../cli/flags.js'
import { readSecret } from '../../cli/read-secret.js'
import { ExitCode } from '../../core/errors.js'
import type { VerifyResult } from '../../core/validation/verify-key.js'
import { verifyKey } from '../../core/validation/verify-key.js'
import { renderVerify } from '../../ui/keys.js'

const HOW = 'Pipe the key in (`printenv MY_KEY | momentry api-key validate`) or name a variable with --key-env MY_KEY'

export default class ApiKeyValidate extends MomentryCommand<VerifyResult> {
  static override summary = 'Check a key: exit 0 valid, 3 invalid, 4 rate-limited or blacklisted.'
  static override description = `The key is read from stdin, or from the variable named by --key-env, so it never lands in shell history or ps. A positional key works but prints a warning.`
  static override examples = [
    'printenv MOMENTRY_KEY | <%= config.bin %> api-key validate',
    '<%= config.bin %> api-key validate --key-env MOMENTRY_KEY --ip 203.0.113.7 --require-scope keys:read --json',
  ]

  static override args = { key: Args.string({ description: 'the key (discouraged: visible in ps and shell history)', ignoreStdin: true }) }
  static override flags = {
    'key-env': Flags.string({ summary: 'Read the key from this environment variable.', helpValue: 'VAR' }),
    ip: ipFlag(),
    'require-scope': Flags.string({ summary: 'Scope the key must have (repeatable).', multiple: true }),
  }

  async run(): Promise<VerifyResult> {
    const { args, flags } = await this.parse(ApiKeyValidate)
    const requiredScopes = (flags['require-scope'] ?? []).map((s) => parseScope(s, 'require-scope'))
    // Over 4 KiB is not a key: it is answered MALFORMED (exit 3), not refused as a usage error.
    const input = await readSecret({ what: 'key', how: HOW, positional: args.key, env: { flag: 'key-env', name: flags['key-env'] }, oversize: 'flag' })
    const key = input.oversize ? '' : input.text
    const result = await verifyKey(this.ctx, { key, ip: flags.ip, requiredScopes })
    if (!result.valid) {
      this.setExitCode(result.code === 'RATE_LIMITED' || result.code === 'BLACKLISTED' ? ExitCode.KEY_REFUSED : ExitCode.KEY_INVALID)
    }
    this.render(result, renderVerify)
    return result
  }
}
