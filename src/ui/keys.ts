import type { CleanupResult } from '../core/api-keys/cleanup.js'
import type { IssuedKey } from '../core/api-keys/create-key.js'
import type { KeyStats } from '../core/api-keys/key-stats.js'
import { KEY_STATUSES, KEY_TYPES } from '../core/api-keys/key-types.js'
import type { KeyView } from '../core/api-keys/key-view.js'
import type { KeyDetails, KeyPage } from '../core/api-keys/list-keys.js'
import type { DueRotation, RotatedKey } from '../core/api-keys/rotate-key.js'
import type { StoredDueRotation } from '../core/api-keys/rotate-to-store.js'
import type { VerifyResult } from '../core/validation/verify-key.js'
import type { Colour } from './paint.js'
import { paint } from './paint.js'
import type { Column } from './table.js'
import { renderTable, shortTime } from './table.js'
import { exactTime, timeFromNow } from './time.js'

const STATUS_COLOUR: Record<KeyView['status'], Colour> = {
  active: 'green',
  rotating: 'yellow',
  disabled: 'magenta',
  revoked: 'red',
  expired: 'gray',
}

export const statusText = (s: KeyView['status']) => paint(STATUS_COLOUR[s], s)

/** What a narrow terminal keeps of `api-key list`: the id to act on, the name, whether it works and until when. */
const KEY_COLUMNS: Column[] = [
  { head: 'id', priority: 1 },
  { head: 'name', priority: 1, shrink: 12 },
  { head: 'type', priority: 4 },
  { head: 'status', priority: 2 },
  { head: 'scopes', priority: 6, shrink: 10 },
  { head: 'owner', priority: 5, shrink: 8 },
  { head: 'created', priority: 8 },
  { head: 'expires', priority: 3 },
  { head: 'last used', priority: 7 },
]

/** `width`: the terminal's, to fit it (see renderTable); none draws every column. */
export function renderKeyPage(page: KeyPage, width?: number): string {
  if (page.items.length === 0) return 'No keys match.'
  return renderTable(
    KEY_COLUMNS,
    page.items.map((k) => [
      k.id,
      k.name,
      k.type,
      statusText(k.status),
      k.scopes.join(',') || '—',
      k.owner ?? '—',
      shortTime(k.createdAt),
      shortTime(k.expiresAt),
      shortTime(k.lastUsedAt),
    ]),
    { width },
  )
}

export function renderKey(k: KeyView): string {
  const rows: [string, string | null][] = [
    ['id', k.id],
    ['name', k.name],
    ['type', k.type],
    ['status', statusText(k.status)],
    ['key', k.stub],
    ['scopes', k.scopes.join(', ') || '—'],
    ['owner', k.owner],
    ['created', `${exactTime(k.createdAt)} by ${k.createdBy}`],
    ['expires', k.expiresAt && timeFromNow(k.expiresAt)],
    ['last used', k.lastUsedAt && timeFromNow(k.lastUsedAt)],
    ['rotate every', k.rotateEvery],
    ['rotated from', k.rotatedFrom],
    ['replaced by', k.replacedBy],
    ['grace until', k.graceExpiresAt && timeFromNow(k.graceExpiresAt)],
    ['revoked', k.revokedAt && `${exactTime(k.revokedAt)}${k.revokedReason ? ` — ${k.revokedReason}` : ''}`],
    ['disabled', k.disabledAt && `${exactTime(k.disabledAt)}${k.disabledReason ? ` — ${k.disabledReason}` : ''}`],
    ...Object.entries(k.metadata).map(([m, v]): [string, string] => [`meta ${m}`, v]),
  ]
  const shown = rows.filter((r): r is [string, string] => r[1] !== null)
  const width = Math.max(...shown.map(([label]) => label.length))
  return shown.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n')
}

export function renderKeyDetails(d: KeyDetails): string {
  const history = d.history.map((h) => `  ${exactTime(h.at)}  ${h.action.padEnd(12)} ${h.actor}`)
  return [renderKey(d.key), '', 'history', ...history].join('\n')
}

/** stdout gets the secret alone (so `> file` captures just it); the rest goes to stderr. */
export function renderIssued(r: IssuedKey): { stdout: string; stderr: string } {
  return {
    stdout: r.secret,
    stderr: `Created ${r.key.id} (${r.key.name}, ${r.key.type}). The key above is shown once: store it now, momentry keeps only its hash.`,
  }
}

export function renderRotated(r: RotatedKey): { stdout: string; stderr: string } {
  const old =
    r.previous.status === 'revoked'
      ? `${r.previous.id} is revoked now`
      : `${r.previous.id} keeps working until ${timeFromNow(r.previous.graceExpiresAt)}`
  return {
    stdout: r.secret,
    stderr: `Rotated to ${r.key.id}; ${old}. The new key above is shown once: store it now.`,
  }
}

export function renderKeyChange(verb: string) {
  return (k: KeyView) => `${k.id} ${verb} (status: ${statusText(k.status)})`
}

const REASONS: Record<string, string> = {
  MALFORMED: 'not a momentry key (wrong shape or checksum)',
  NOT_FOUND: 'no such key',
  DISABLED: 'the key is disabled',
  REVOKED: 'the key was revoked',
  EXPIRED: 'the key has expired',
  INSUFFICIENT_SCOPE: 'the key lacks a required scope',
  RATE_LIMITED: 'too many failed attempts from this IP',
  BLACKLISTED: 'this IP is blacklisted',
}

export function renderVerify(r: VerifyResult): string {
  if (!r.valid) {
    const retry = r.retryAfterSeconds ? `; retry after ${r.retryAfterSeconds}s` : ''
    return `${paint('red', 'invalid')} ${r.code}: ${REASONS[r.code]}${retry}`
  }
  const k = r.key
  const rotating = k.rotating ? ` — rotating, valid until ${timeFromNow(k.rotating.graceExpiresAt)}, ${k.rotating.replacedBy ? `replaced by ${k.rotating.replacedBy}` : 'no live successor (the keys it was rotated to are revoked, disabled or expired)'}` : ''
  return `${paint('green', 'valid')} ${k.id} ${k.name} (${k.type}) scopes: ${k.scopes.join(',') || '—'}${rotating}`
}

/** Locked-out IPs listed by `api-key stats` as text (all of them under --json). */
const LOCKED_SHOWN = 10

export function renderStats(s: KeyStats): string {
  const matrix = renderTable(
    ['type', ...KEY_STATUSES, 'total'],
    [
      ...KEY_TYPES.map((t) => [t, ...KEY_STATUSES.map((st) => s.byTypeAndStatus[t][st]), KEY_STATUSES.reduce((n, st) => n + s.byTypeAndStatus[t][st], 0)]),
      ['all', ...KEY_STATUSES.map((st) => s.byStatus[st]), s.total],
    ],
  )
  return [
    matrix,
    `expiring within 7 days: ${s.expiringIn7Days}   within 30 days: ${s.expiringIn30Days}`,
    `rotation due: ${s.rotationDue}   open anomalies: ${s.openAnomalies}`,
    `last 24 h: ${s.validationsLast24h} validations, ${s.failuresLast24h} failed   locked-out IPs: ${s.lockedOutIps ?? 'unknown (Redis unreachable)'}`,
    ...(s.lockedOut ?? []).slice(0, LOCKED_SHOWN).map((l) => `  ${l.ip} locked for ${l.retryAfterSeconds}s more`),
    ...((s.lockedOut?.length ?? 0) > LOCKED_SHOWN ? [`  … and ${s.lockedOut!.length - LOCKED_SHOWN} more (--json lists them all)`] : []),
  ].join('\n')
}

/** What a cleanup removed (or would remove): one table per kind, then the usage line. */
export function renderCleanup(r: CleanupResult): string {
  const verb = r.dryRun ? 'Would remove' : 'Removed'
  const lines: string[] = [`${r.dryRun ? 'Dry run: nothing changed. ' : ''}Cutoff ${exactTime(r.cutoff)} (older than ${r.olderThan}).`]
  lines.push(`${verb} ${r.keys.length} key(s).`)
  if (r.keys.length) lines.push(renderTable(['id', 'name', 'type', 'why', 'ended'], r.keys.map((k) => [k.id, k.name, k.type, k.reason, shortTime(k.endedAt)])))
  if (r.keptAsSuccessor.length) lines.push(`Kept ${r.keptAsSuccessor.length} key(s) past the cutoff that a kept key was rotated to: ${r.keptAsSuccessor.join(', ')}`)
  lines.push(`${verb} ${r.anomalies.length} anomal${r.anomalies.length === 1 ? 'y' : 'ies'}.`)
  if (r.anomalies.length) {
    lines.push(renderTable(['id', 'key', 'type', 'status', 'why'], r.anomalies.map((a) => [a.id, a.keyId, a.type, a.status, a.reason === 'resolved' ? `resolved ${shortTime(a.resolvedAt)}` : 'its key goes'])))
  }
  lines.push(`${verb} ${r.usage.rows} usage row(s) and ${r.usage.failureRows} failure row(s) from before ${exactTime(r.usage.cutoff)} (MOMENTRY_USAGE_RETENTION ${r.usage.retention}).`)
  return lines.join('\n')
}

/**
 * `rotate --due` without --json: the new keys alone on stdout, one `<new id> <key>` line
 * each (so `> file` captures exactly them), and on stderr what was rotated, until when each
 * old key keeps working, and what failed.
 */
export function renderDueRotations(r: DueRotation): { stdout: string; stderr: string } {
  const failed = r.failed.map((f) => `${paint('red', 'failed')} ${f.id}: ${f.error}`)
  if (r.rotated.length === 0) return { stdout: '', stderr: [r.failed.length ? 'No key rotated.' : 'No key is due for rotation.', ...failed].join('\n') }
  const table = renderTable(
    ['new key', 'name', 'type', 'old key', 'old key valid until'],
    r.rotated.map((k) => [k.key.id, k.key.name, k.key.type, k.previous.id, k.previous.status === 'revoked' ? 'revoked now' : shortTime(k.previous.graceExpiresAt)]),
  )
  return {
    stdout: r.rotated.map((k) => `${k.key.id} ${k.secret}`).join('\n'),
    stderr: [`Rotated ${r.rotated.length} key(s). The new keys above are shown once: store them now (--to-keychain stores them for you).`, table, ...failed].join('\n'),
  }
}

/** `rotate --due --to-keychain`: which key went where; the secrets are in the store, not here. */
export function renderStoredRotations(r: StoredDueRotation): string {
  const lines = [`Rotated ${r.rotated.length} key(s); each new key is in the credential store, not shown.`]
  if (r.rotated.length) {
    lines.push(renderTable(['new key', 'name', 'stored as', 'in', 'old key', 'old key valid until'], r.rotated.map((k) => [k.id, k.name, k.account, k.file ? `file (${k.file})` : k.store, k.previousId, shortTime(k.previousGraceExpiresAt)])))
  }
  for (const f of r.failed) lines.push(`${paint('red', 'failed')} ${f.id}: ${f.error}`)
  return lines.join('\n')
}
