import type { z } from 'zod'

import { UsageError } from './errors.js'

/**
 * Parse untrusted input with a zod schema; the first problem becomes one UsageError line
 * naming the field (`expiresAt: must be in the future`).
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, label?: string): z.output<S> {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  const issue = result.error.issues[0]!
  const path = issue.path.map(String).join('.')
  const where = label ?? path
  throw new UsageError(where ? `${where}: ${issue.message}` : issue.message)
}
