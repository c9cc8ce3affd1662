import { isIP } from 'node:net'

import { Args, Flags } from '@oclif/core'

import { assertKeyId } from '../core/api-keys/key-id.js'
import { scopeSchema } from '../core/api-keys/key-types.js'
import { parseDuration } from '../core/duration.js'
import { printable } from '../core/printable.js'
import { UsageError } from '../core/errors.js'

/**
 * `--x 30d` → seconds. Zero only where it means something (a zero grace period). `example`
 * is what the error hint suggests, so it should fit the flag (`2s` for an interval).
 */
export const durationFlag = (options: { summary: string; example: string; allowZero?: boolean; exclusive?: string[] }) =>
  Flags.custom<number>({
    summary: options.summary,
    helpValue: '<n>s|m|h|d|w',
    exclusive: options.exclusive,
    parse: async (input, _ctx, flag) => parseDuration(input, `--${flag.name}`, { allowZero: options.allowZero, example: options.example }),
  })()

/** Validate one scope, naming the flag it came from. */
export function parseScope(input: string, flag: string): string {
  const result = scopeSchema.safeParse(input.trim())
  if (!result.success) throw new UsageError(`--${flag}: "${printable(input)}" is not a scope`, result.error.issues[0]!.message)
  return result.data
}

/** `--scopes a,b,c` → ['a','b','c'], each validated. */
export const scopesFlag = (summary: string) =>
  Flags.custom<string[]>({
    summary,
    helpValue: 'a,b',
    parse: async (input, _ctx, flag) => input.split(',').filter((s) => s.trim() !== '').map((s) => parseScope(s, flag.name)),
  })()

/** `--meta k=v` (repeatable) → one entry each. */
export const metaFlag = Flags.custom<{ key: string; value: string }>({
  summary: 'Metadata entry key=value (repeatable).',
  helpValue: 'key=value',
  multiple: true,
  parse: async (input) => {
    const eq = input.indexOf('=')
    if (eq <= 0) throw new UsageError(`--meta: "${printable(input)}" is not key=value`, 'Write e.g. --meta team=payments')
    return { key: input.slice(0, eq), value: input.slice(eq + 1) }
  },
})

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/

/** An ISO 8601 date or date-time (`2027-01-31`, `2027-01-31T12:00:00Z`). */
export const isoDateFlag = (options: { summary: string; exclusive?: string[] }) =>
  Flags.custom<Date>({
    summary: options.summary,
    helpValue: 'ISO-8601',
    exclusive: options.exclusive,
    parse: async (input, _ctx, flag) => {
      const date = new Date(input)
      if (!ISO_DATE.test(input) || Number.isNaN(date.getTime())) {
        throw new UsageError(`--${flag.name}: "${printable(input)}" is not an ISO-8601 date`, 'Write e.g. 2027-01-31 or 2027-01-31T12:00:00Z')
      }
      return date
    },
  })()

export const ipFlag = Flags.custom<string>({
  summary: 'Source IP address of the request being validated.',
  helpValue: 'IP',
  parse: async (input, _ctx, flag) => {
    if (!isIP(input)) throw new UsageError(`--${flag.name}: "${printable(input)}" is not an IP address`, 'Give an IPv4 or IPv6 address such as 203.0.113.7')
    return input
  },
})

/** A `key_…` id, checked before anything touches the database. */
export const keyIdArg = Args.custom<string>({
  description: 'key id (key_…)',
  ignoreStdin: true,
  parse: async (input) => assertKeyId(input),
})

/** A required positional id, never read from stdin (oclif would otherwise slurp a piped key). */
export const idArg = (description: string) => Args.string({ required: true, description, ignoreStdin: true })
