import * as z from 'zod'

import { keyStub, parseRawKey } from '../api-keys/key-format.js'
import { keyStatus } from '../api-keys/status.js'
import type { CoreContext } from '../context.js'
import { printable } from '../printable.js'
import { parseInput } from '../validate-input.js'
import { findKeys } from './find-keys.js'
import { findKeysByRaw } from './repo.js'
import type { LeakTarget } from './respond.js'
import { respondToLeaks } from './respond.js'

/** At most this many tokens per report: one request stays one short transaction per key. */
export const MAX_REPORTED_LEAKS = 1000

export const reportedLeakSchema = z
  .object({
    token: z.string().min(1).max(512).meta({ description: 'The credential an outside scanner found (never echoed back)' }),
    url: z.string().min(1).max(2048).optional().meta({ description: 'Where it was found (a commit, a paste, a log line)', example: 'https://git.example.com/acme/app/commit/9f2c1e0#L14' }),
    source: z.string().min(1).max(200).optional().meta({ description: 'Who found it', example: 'gitleaks' }),
  })
  .strict()

export const reportLeaksInputSchema = z
  .object({ leaks: z.array(reportedLeakSchema).min(1).max(MAX_REPORTED_LEAKS) })
  .strict()
  .meta({ id: 'LeakReport' })

export type ReportLeaksInput = z.input<typeof reportLeaksInputSchema>

/**
 * What was done about one reported token. `revoked`: a momentry key of this database, revoked
 * now; `already_revoked`: revoked before (or meanwhile, by someone else);
 * `unknown`: a well-formed momentry key of no record here; `not_momentry`: not a momentry key
 * at all (wrong prefix, length or checksum).
 */
export const REPORTED_LEAK_OUTCOMES = ['revoked', 'already_revoked', 'unknown', 'not_momentry'] as const
export type ReportedLeakOutcome = (typeof REPORTED_LEAK_OUTCOMES)[number]

export const reportedLeakAnswerSchema = z
  .object({
    index: z.number().int().meta({ description: 'The position of the token in the request' }),
    outcome: z.enum(REPORTED_LEAK_OUTCOMES),
    keyId: z.string().optional(),
    stub: z.string().optional().meta({ description: 'The first 12 characters of a momentry key (its display stub), never more' }),
  })
  .meta({ id: 'ReportedLeak' })

export const reportLeaksResultSchema = z.object({ items: z.array(reportedLeakAnswerSchema) }).meta({ id: 'LeakReportResult' })
export type ReportLeaksResult = z.infer<typeof reportLeaksResultSchema>

const DEFAULT_WHERE = 'reported via POST /v1/leaks'

/**
 * The place a reporter names, as one line for the revocation reason, the audit row and
 * `key.leaked`. A momentry key inside it (a URL with `?key=…`) is cut to its stub: the
 * reason is stored and sent on, the key must never be.
 */
export function reportedWhere(leak: { url?: string; source?: string }): string {
  const text = leak.url && leak.source ? `${leak.url} (reported by ${leak.source})` : (leak.url ?? leak.source ?? DEFAULT_WHERE)
  let safe = text
  for (const hit of findKeys(Buffer.from(text, 'latin1')).reverse()) safe = safe.replace(hit.raw, `${hit.stub}…`)
  return printable(safe, 200)
}

/**
 * Tokens an outside scanner found (`POST /v1/leaks`): each is recognised offline (prefix and
 * CRC32), looked up by hash in one query, and every key among them not yet revoked is revoked
 * through `respondToLeaks` — audited by the revocation, with the reporter's place as reason,
 * and announced as `key.leaked` — exactly once even when reported twice. Not only live keys:
 * a disabled one must not validate again when someone enables it, and an expired one gets the
 * leak on its record. Answers follow the request's order and never hold a token, only a key's
 * id and display stub.
 */
export async function reportLeaks(ctx: CoreContext, input: ReportLeaksInput): Promise<ReportLeaksResult> {
  const { leaks } = parseInput(reportLeaksInputSchema, input)
  const candidates = leaks.map((l) => (parseRawKey(l.token) ? l.token : undefined))
  const records = await findKeysByRaw(ctx.sql, candidates.filter((raw) => raw !== undefined))
  const now = ctx.clock.now()

  const targets = new Map<string, LeakTarget>()
  const plan = candidates.map((raw, index) => {
    if (!raw) return { index, outcome: 'not_momentry' as const }
    const record = records.get(raw)
    const stub = keyStub(raw)
    if (!record) return { index, outcome: 'unknown' as const, stub }
    const status = keyStatus(record, now)
    if (status === 'revoked') return { index, outcome: 'already_revoked' as const, keyId: record.keyId, stub }
    if (!targets.has(record.keyId)) targets.set(record.keyId, { keyId: record.keyId, name: record.name, status, where: reportedWhere(leaks[index]!) })
    return { index, outcome: undefined, keyId: record.keyId, stub }
  })
  const acted = new Map((await respondToLeaks(ctx, [...targets.values()], 'revoke')).map((a) => [a.keyId, a.outcome]))
  return {
    items: plan.map((p): ReportLeaksResult['items'][number] => ({
      index: p.index,
      outcome: p.outcome ?? (acted.get(p.keyId!) as 'revoked' | 'already_revoked'),
      ...(p.keyId ? { keyId: p.keyId } : {}),
      ...(p.stub ? { stub: p.stub } : {}),
    })),
  }
}
