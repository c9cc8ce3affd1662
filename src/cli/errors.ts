import { Errors } from '@oclif/core'

import { classifyPostgresError } from '../core/db/connect.js'
import { ExitCode, MomentryError, UsageError } from '../core/errors.js'
import { printable } from '../core/printable.js'
import { fieldLabel, InputError, joinProblem } from '../core/validate-input.js'
import { closest } from './suggest.js'

/** What a command was given and accepts, for naming its flags in errors as the user typed them. */
export interface CommandInput {
  argv: readonly string[]
  flags?: Record<string, { type: string; char?: string }>
  args?: Record<string, unknown>
  /** Core input fields a flag of another name fills (`metadata` ← `--meta`). */
  inputNames?: Record<string, string>
}

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)

/** `--expires-at 2027-01-01` (or `--force`) as it was typed, if it was. */
function typedFlag(name: string, command: CommandInput): string | undefined {
  const flag = command.flags?.[name]
  if (!flag) return undefined
  const forms = [`--${name}`, ...(flag.char ? [`-${flag.char}`] : [])]
  for (let i = command.argv.length - 1; i >= 0; i--) {
    const word = command.argv[i]!
    const form = forms.find((f) => word === f || word.startsWith(`${f}=`))
    if (!form) continue
    if (flag.type === 'boolean') return `--${name}`
    const value = word === form ? command.argv[i + 1] : word.slice(form.length + 1)
    return value === undefined ? `--${name}` : `--${name} ${printable(value)}`
  }
  return `--${name}`
}

/** The flag (or argument) a core input field came from: `expiresInSeconds` → `--expires-in`. */
function inputSource(field: string, command: CommandInput): { label: string; flag?: string } {
  const named = command.inputNames?.[field]
  if (named) return { label: named, flag: /^--[\w-]+$/.test(named) ? named.slice(2) : undefined }
  for (const name of [kebab(field), kebab(field.replace(/(Seconds|Ms)$/, ''))]) {
    if (command.flags?.[name]) return { label: `--${name}`, flag: name }
  }
  if (command.args && field in command.args) return { label: field.toUpperCase() }
  return { label: fieldLabel([field]) }
}

/** A core input error in the CLI's words: `--name must not be empty`, `--expires-at 2020-01-01 is not in the future`. */
function inCliWords(e: InputError, command: CommandInput): UsageError {
  const field = e.path.find((p) => typeof p === 'string')
  if (field === undefined) return e
  const { label, flag } = inputSource(field, command)
  const typed = flag && e.value ? typedFlag(flag, command) : undefined
  const subject = typed ?? label
  const value = e.value && !typed ? ` (${e.value})` : ''
  return new UsageError(`${joinProblem(subject, e.problem)}${value}`, e.hint)
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g

/** oclif's `--a=<parsed value> cannot also be provided when using --b`, in the values typed. */
function exclusiveLine(line: string, command: CommandInput): string | undefined {
  const m = /^--([\w-]+)=.* cannot also be provided when using --([\w-]+)$/.exec(line)
  if (!m) return undefined
  const [, other, used] = m
  return `${typedFlag(used!, command) ?? `--${used}`} cannot be used with ${typedFlag(other!, command) ?? `--${other}`}; give one of them`
}

/** `--nme` → `unknown flag --nme. Did you mean --name?` (the value after `=` is never echoed). */
function unknownFlag(flags: readonly string[], command: CommandInput, help: string): UsageError {
  const typed = printable(flags[0]!.split('=')[0]!)
  const names = Object.keys(command.flags ?? {})
  const long = /^--/.test(typed)
  const suggestion = long
    ? closest(typed.slice(2), names)
    : closest(typed.slice(1), Object.values(command.flags ?? {}).flatMap((f) => (f.char ? [f.char] : [])))
  const hint = suggestion ? `Did you mean \`${long ? '--' : '-'}${suggestion}\`?` : help
  return new UsageError(`unknown flag ${typed}`, hint)
}

/** Whatever was thrown, as a MomentryError with an exit code and one line to print. */
export function toMomentryError(error: unknown, commandId?: string, database?: string, command?: CommandInput): MomentryError {
  if (error instanceof InputError && command) return inCliWords(error, command)
  if (error instanceof MomentryError) return error
  const fromDb = classifyPostgresError(error, database)
  if (fromDb) return fromDb
  if (error instanceof Errors.CLIError && (error.oclif?.exit === 2 || error.name === 'CLIParseError' || 'parse' in error)) {
    const help = `See \`momentry ${commandId?.replaceAll(':', ' ') ?? ''} --help\``.replace('  ', ' ')
    const nonexistent = (error as { flags?: unknown }).flags
    if (command && Array.isArray(nonexistent) && nonexistent.length > 0 && /^Nonexistent flags?:/.test(error.message)) return unknownFlag(nonexistent as string[], command, help)
    // oclif sometimes leads with a generic header; the first specific line is the useful one.
    const lines = error.message
      .replace(ANSI, '')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !/^The following errors? occurred:?$/.test(l) && !/^See more help with --help$/.test(l))
    // "Missing 1 required arg:" is followed by the argument it means, and "Parsing --port" by
    // what was wrong with it: keep both on the line.
    const first = /(:|^Parsing --\S+)$/.test(lines[0] ?? '') && lines[1] ? `${lines[0]!.replace(/^(Parsing --\S+)$/, '$1:')} ${lines[1].replace(/\s+/g, ' ')}` : (lines[0] ?? 'invalid arguments')
    const exclusive = command && exclusiveLine(first, command)
    return new UsageError(exclusive || first.replace(/^Parsing --/, '--'), help)
  }
  const message = error instanceof Error ? error.message : String(error)
  return new MomentryError(`unexpected error: ${message.split('\n')[0]}`, {
    code: 'UNEXPECTED',
    exitCode: ExitCode.UNEXPECTED,
    hint: 'Run again with MOMENTRY_DEBUG=1 to see where it came from',
    cause: error,
  })
}
