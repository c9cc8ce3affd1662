import { Errors } from '@oclif/core'

import { classifyPostgresError } from '../core/db/connect.js'
import { ExitCode, MomentryError, UsageError } from '../core/errors.js'

/** Whatever was thrown, as a MomentryError with an exit code and one line to print. */
export function toMomentryError(error: unknown, commandId?: string, database?: string): MomentryError {
  if (error instanceof MomentryError) return error
  const fromDb = classifyPostgresError(error, database)
  if (fromDb) return fromDb
  if (error instanceof Errors.CLIError && (error.oclif?.exit === 2 || error.name === 'CLIParseError' || 'parse' in error)) {
    // oclif sometimes leads with a generic header; the first specific line is the useful one.
    const lines = error.message
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !/^The following errors? occurred:?$/.test(l) && !/^See more help with --help$/.test(l))
    // "Missing 1 required arg:" is followed by the argument it means, and "Parsing --port" by
    // what was wrong with it: keep both on the line.
    const first = /(:|^Parsing --\S+)$/.test(lines[0] ?? '') && lines[1] ? `${lines[0]!.replace(/^(Parsing --\S+)$/, '$1:')} ${lines[1].replace(/\s+/g, ' ')}` : (lines[0] ?? 'invalid arguments')
    return new UsageError(first.replace(/^Parsing --/, '--'), `See \`momentry ${commandId?.replaceAll(':', ' ') ?? ''} --help\``.replace('  ', ' '))
  }
  const message = error instanceof Error ? error.message : String(error)
  return new MomentryError(`unexpected error: ${message.split('\n')[0]}`, {
    code: 'UNEXPECTED',
    exitCode: ExitCode.UNEXPECTED,
    hint: 'Run again with MOMENTRY_DEBUG=1 to see where it came from',
    cause: error,
  })
}
