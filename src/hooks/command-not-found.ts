import type { Hook } from '@oclif/core'

import { printable } from '../core/printable.js'

/**
 * An unknown command is a usage error (exit 2) with one line, not a stack of suggestions.
 * The exit code is set, not forced with process.exit: nothing is open yet, so the process
 * ends with it at once, and the CLI can also be run inside another process (the tests).
 */
const hook: Hook.CommandNotFound = async function (options) {
  const name = printable(options.id.replaceAll(':', ' '))
  const line = `no command "${name}"`
  const hint = 'Run `momentry --help` to list the commands'
  if (options.argv?.includes('--json')) {
    process.stdout.write(`${JSON.stringify({ error: { code: 'USAGE_ERROR', message: `${line}. ${hint}`, exitCode: 2 } })}\n`)
  } else {
    process.stderr.write(`Error: ${line}. ${hint}\n`)
  }
  process.exitCode = 2
}

export default hook
