import type { z } from 'zod'

import { UsageError } from './errors.js'
import { printable } from './printable.js'

/** Where a problem is, by the input's own field names (`['events', 0]`). */
export type InputPath = readonly PropertyKey[]

/** `["events", 0]` → `"events[0]"`: a field as a JSON client names it. */
export function fieldLabel(path: InputPath): string {
  const [head, ...rest] = path
  if (head === undefined) return 'the input'
  // A field name can be the client's own text (a metadata key): de-fanged and cut like any echo.
  const name = (p: PropertyKey) => printable(String(p), 64)
  return `"${[name(head), ...rest.map((p) => (typeof p === 'number' ? `[${p}]` : `.${name(p)}`))].join('')}"`
}

/** A problem read after its subject (`must …`, `is …`) follows it; any other note gets a colon. */
export function joinProblem(subject: string, problem: string): string {
  return /^(must|is|are|cannot|has|needs|should)\b/.test(problem) ? `${subject} ${problem}` : `${subject}: ${problem}`
}

/**
 * A bad field of an input: the field (its path in the input), what is wrong with it in plain
 * words, and the value worth repeating when there is one. The message names the field as a
 * JSON client does (`"name" must not be empty`); the CLI names the flag instead.
 */
export class InputError extends UsageError {
  readonly path: InputPath
  readonly problem: string
  readonly value?: string

  constructor(path: InputPath, problem: string, options: { hint?: string; value?: string } = {}) {
    super(`${joinProblem(fieldLabel(path), problem)}${options.value ? ` (${options.value})` : ''}`, options.hint)
    this.path = path
    this.problem = problem
    this.value = options.value
  }
}

const article = (type: string) => (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`)
const typeOf = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value)
/** An offending value short and plain enough to repeat (never a long or binary one). */
const echo = (value: unknown) => (typeof value === 'string' && value.length <= 40 && printable(value) === value ? ` (got "${value}")` : '')

/**
 * zod's default messages in plain words (schemas that give their own keep theirs): what is
 * wrong with the field, read after its name.
 */
const plainWords: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      // A coerced query value that is no number (`ten` → NaN) or too large for one (`1e400` → Infinity).
      if (issue.expected === 'number' && typeof issue.input === 'number') return Number.isNaN(issue.input) ? 'must be a number' : 'must be a finite number'
      return issue.input === undefined ? `is required (${article(issue.expected)})` : `must be ${article(issue.expected)}, not ${article(typeOf(issue.input))}`
    case 'too_small': {
      const n = Number(issue.minimum)
      if (issue.origin === 'string') return n === 1 ? 'must not be empty' : `must be at least ${n} characters`
      if (issue.origin === 'array' || issue.origin === 'set') return `must have at least ${n} ${n === 1 ? 'entry' : 'entries'}`
      return issue.inclusive === false ? `must be more than ${n}` : `must be at least ${n}`
    }
    case 'too_big': {
      const n = Number(issue.maximum)
      if (issue.origin === 'string') return `must be at most ${n} characters`
      if (issue.origin === 'array' || issue.origin === 'set') return `must have at most ${n} entries`
      return issue.inclusive === false ? `must be less than ${n}` : `must be at most ${n}`
    }
    case 'invalid_value':
      return `must be ${issue.values.length === 1 ? String(issue.values[0]) : `one of ${issue.values.map(String).join(', ')}`}${echo(issue.input)}`
    case 'invalid_format':
      return `must be a valid ${issue.format}`
    case 'unrecognized_keys':
      return `is not a known field`
    default:
      return 'is not valid'
  }
}

/**
 * Parse untrusted input with a zod schema; the first problem becomes one InputError naming
 * the field in plain words (`"key" is required (a string)`). `label` names the whole input
 * when it is one value rather than an object (`account`).
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, label?: string): z.output<S> {
  // Parsed without the error map first: zod takes a slower path for a parse given options,
  // and with the map a valid verify body took 4.6 µs instead of 1.4 (under load in `serve`,
  // about a fifth of its CPU per request). The map changes only the messages of a failure,
  // so only a failure is parsed again, for them.
  const parsed = schema.safeParse(input)
  if (parsed.success) return parsed.data
  const result = schema.safeParse(input, { error: plainWords })
  if (result.success) return result.data
  const issue = result.error.issues[0]!
  // An unknown field is reported by its own name, not by the object that holds it.
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : label ? [label, ...issue.path] : issue.path
  throw new InputError(path, issue.message)
}
