import * as z from 'zod'

import { findKey } from '../api-keys/repo.js'
import { normaliseIp } from '../blacklist/ip.js'
import type { CoreContext } from '../context.js'
import { NotFoundError } from '../errors.js'
import { parseInput } from '../validate-input.js'

export const recordUsageInputSchema = z
  .object({
    keyId: z.string().regex(/^key_[0-9A-Za-z]{16}$/, 'must be a key id (key_…)'),
    ip: z.union([z.ipv4(), z.ipv6()]).optional(),
    ok: z.boolean(),
  })
  .strict()

/**
 * A service reports the outcome of a request it served with a key (e.g. the key was
 * valid but the caller was refused downstream). Buffered like validations; failures feed
 * the error-rate detector.
 */
export function recordUsage(ctx: CoreContext, input: z.input<typeof recordUsageInputSchema>): void {
  buffer(ctx, parseInput(recordUsageInputSchema, input))
}

function buffer(ctx: CoreContext, i: z.output<typeof recordUsageInputSchema>): void {
  ctx.validation.usage.record({ keyId: i.keyId, ip: i.ip && normaliseIp(i.ip), ok: i.ok, atMs: ctx.clock.ms() })
}

/**
 * `recordUsage` for reports from outside (`POST /v1/usage`): the key must exist, so that a
 * caller cannot fill the usage table and the detectors with ids that are no key.
 */
export async function reportUsage(ctx: CoreContext, input: z.input<typeof recordUsageInputSchema>): Promise<void> {
  const i = parseInput(recordUsageInputSchema, input)
  if (!(await findKey(ctx.sql, i.keyId))) throw new NotFoundError(`no API key with id ${i.keyId}`, 'Report usage only for keys momentry issued (`momentry api-key list` shows them)')
  buffer(ctx, i)
}
