import type { AuditAction } from '../audit/repo.js'
import { appendAudit } from '../audit/repo.js'
import type { CoreContext } from '../context.js'
import type { TransactionSql } from '../db/connect.js'
import { MomentryError } from '../errors.js'

// What Gitea tokens and n8n keys have in common once minted: momentry tracks them (never
// their secret) beside the server's own list, and every change is audited with it.

/** `gone`: tracked but no longer on the server; `untracked`: on the server, not made through momentry. */
export type Drift = 'gone' | 'untracked' | null

/** The audit row that goes with a change (`key_id` is null: these are not momentry keys). */
export interface AuditNote {
  action: AuditAction
  /** Ids, names, scopes, the server URL: never a secret nor any part of one. */
  details: Record<string, unknown>
}

/**
 * Record a credential just minted on the server, with its audit row, in one transaction.
 * If that fails, `undo` deletes it on the server again, so no secret exists that momentry
 * neither showed nor tracks; if the undo fails too, the log names what to delete by hand.
 * The recording error is rethrown either way.
 */
export async function recordMinted<T>(
  ctx: CoreContext,
  m: {
    /** "Gitea token 12", for the warning. */
    what: string
    /** Where to delete it by hand: "Gitea". */
    service: string
    at: Date
    insert: (tx: TransactionSql) => Promise<T>
    audit: AuditNote
    undo: () => Promise<void>
  },
): Promise<T> {
  try {
    const row = await ctx.sql.begin(async (tx) => {
      const inserted = await m.insert(tx)
      await appendAudit(ctx, tx, { keyId: null, action: m.audit.action, actor: ctx.actor, at: m.at, details: m.audit.details })
      return inserted
    })
    // postgres.js types this as UnwrapPromiseArray<T>, which is T for anything but an array of promises.
    return row as T
  } catch (error) {
    await m.undo().catch((undoError: unknown) =>
      ctx.log.warn(`${m.what} was created but could not be recorded or deleted again (${undoError instanceof Error ? undoError.message : String(undoError)}); delete it in ${m.service}`),
    )
    throw error
  }
}

/**
 * Stop tracking a credential and audit the delete, in one transaction; true when it was
 * tracked. With `onlyIfTracked`, one no longer tracked (another process got there first)
 * changes nothing and is not audited again.
 */
export async function recordDeleted(
  ctx: CoreContext,
  d: { at: Date; markDeleted: (tx: TransactionSql) => Promise<boolean>; audit: AuditNote; onlyIfTracked?: boolean },
): Promise<boolean> {
  return ctx.sql.begin(async (tx) => {
    const tracked = await d.markDeleted(tx)
    if (!tracked && d.onlyIfTracked) return false
    await appendAudit(ctx, tx, { keyId: null, action: d.audit.action, actor: ctx.actor, at: d.at, details: d.audit.details })
    return tracked
  })
}

/** One line of a listing: a tracked record, the server's entry, or both, with the verdict. */
export type Joined<L, R> =
  | { local: L; remote: R; onServer: true; drift: null }
  | { local: L; remote: undefined; onServer: false; drift: 'gone' }
  /** Not listed, but its absence proves nothing (another user's, or a partial list). */
  | { local: L; remote: undefined; onServer: null; drift: null }
  | { local: undefined; remote: R; onServer: true; drift: 'untracked' }

/**
 * Join momentry's records with the server's list by id: tracked records first (in their
 * order), then what only the server has. A tracked record missing from the list is `gone`
 * unless `absenceProvesGone` says the list could not have shown it.
 */
export function joinWithServer<L, R, K>(
  local: readonly L[],
  remote: readonly R[],
  idOf: { local: (l: L) => K; remote: (r: R) => K },
  absenceProvesGone: (l: L) => boolean = () => true,
): Joined<L, R>[] {
  const remoteById = new Map(remote.map((r) => [idOf.remote(r), r]))
  const localIds = new Set(local.map(idOf.local))
  return [
    ...local.map((l): Joined<L, R> => {
      const r = remoteById.get(idOf.local(l))
      if (r !== undefined) return { local: l, remote: r, onServer: true, drift: null }
      return absenceProvesGone(l) ? { local: l, remote: undefined, onServer: false, drift: 'gone' } : { local: l, remote: undefined, onServer: null, drift: null }
    }),
    ...remote.filter((r) => !localIds.has(idOf.remote(r))).map((r): Joined<L, R> => ({ local: undefined, remote: r, onServer: true, drift: 'untracked' })),
  ]
}

/** How many lines of a listing drifted each way. */
export function countDrift(items: readonly { drift: Drift }[]): { gone: number; untracked: number } {
  return { gone: items.filter((i) => i.drift === 'gone').length, untracked: items.filter((i) => i.drift === 'untracked').length }
}

const ROTATION_SUFFIX = /-rot-\d{8}T\d{6}Z$/
/** `-rot-` and a UTC stamp such as `20261122T031400Z`. */
const SUFFIX_LENGTH = 21

/**
 * The name of a replacement (names are unique per user on both servers): `ci-bot` →
 * `ci-bot-rot-20261122T031400Z`. A previous suffix is replaced, not stacked, and the base is
 * cut so the whole fits `maxLength` (Gitea 255, n8n 50) without splitting a character.
 */
export function rotatedName(name: string, at: Date, maxLength: number): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
  const base = name.replace(ROTATION_SUFFIX, '')
  let end = Math.min(base.length, Math.max(0, maxLength - SUFFIX_LENGTH))
  // Never between the halves of a surrogate pair: a lone half is not text to either server.
  if (end < base.length && /[\uD800-\uDBFF]/.test(base[end - 1] ?? '') && /[\uDC00-\uDFFF]/.test(base[end]!)) end--
  return `${base.slice(0, end)}-rot-${stamp}`
}

/** A failure reported beside a result (rotation's `previous.error`): one line, and the service's status. */
export function reportedFailure(error: unknown): { message: string; status?: number } {
  if (error instanceof MomentryError) return { message: error.line, ...(error.status ? { status: error.status } : {}) }
  return { message: String(error) }
}
