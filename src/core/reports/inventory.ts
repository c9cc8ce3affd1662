import type { CoreContext } from '../context.js'
import { UsageError } from '../errors.js'
import { readableTime } from '../time-text.js'
import { inventoryRows } from './repo.js'
import { keyStatus } from '../api-keys/status.js'

/** One credential of the stack, whatever issued it. Never a secret. */
export interface InventoryItem {
  kind: 'momentry-key' | 'gitea-token' | 'n8n-api-key'
  id: string
  name: string
  /** momentry key type (integration, service, …); null for Gitea and n8n. */
  type: string | null
  /** momentry: owner; Gitea: the user; n8n: the n8n user it was made for (null if made before momentry recorded it). */
  owner: string | null
  /** Where it lives: null for momentry keys, the server URL otherwise. */
  service: string | null
  scopes: string[]
  createdAt: string
  createdBy: string
  expiresAt: string | null
  /** Known for momentry keys only: Gitea and n8n do not report last use. */
  lastUsedAt: string | null
  ageDays: number
  status: string
  /**
   * Gitea and n8n only, with `--drift`: `in sync` (the server lists it), `gone` (momentry made
   * it, the server no longer has it); null for momentry keys, ended credentials, and when the
   * server was not (or could not be) asked.
   */
  drift: 'in sync' | 'gone' | null
}

/** How one server was compared with momentry's records. */
export interface DriftCheck {
  service: 'gitea' | 'n8n'
  url: string | null
  /** `checked`: the server's list was read; `not configured`: no credentials to ask it with; `failed`: see `message`. */
  status: 'checked' | 'not configured' | 'failed'
  /** Gitea: the users whose tokens were listed; n8n: the logged-in user. */
  users: string[]
  message?: string
}

/** A credential a server has that momentry did not make (never a secret: ids, names, scopes). */
export interface UntrackedCredential {
  kind: 'gitea-token' | 'n8n-api-key'
  service: string
  id: string
  name: string
  owner: string
  scopes: string[]
}


export interface Inventory {
  generatedAt: string
  /** With --since/--until: only credentials that existed at some time in [since, until). null: all. */
  window: { since: string; until: string } | null
  items: InventoryItem[]
  counts: Record<InventoryItem['kind'], number>
  /** One per server asked with `--drift` (empty without it). */
  checks: DriftCheck[]
  /** What the servers asked have that momentry did not make (empty without `--drift`). */
  untracked: UntrackedCredential[]
}

const iso = (d: Date | null) => (d ? d.toISOString() : null)

export interface InventoryOptions {
  /** Keep only credentials that existed in [since, until): created before `until`, not ended before `since`. */
  since?: Date
  until?: Date
}

const first = (...ds: (Date | null)[]) => ds.reduce<Date | null>((a, d) => (d && (!a || d < a) ? d : a), null)

/**
 * Every credential momentry knows of, from its own records (no network): momentry keys,
 * Gitea tokens and n8n keys, oldest kind first, newest first within a kind. With a window,
 * those that existed in it: created before its end and not ended (revoked, expired, past
 * their grace, deleted) before its start.
 */
export async function buildInventory(ctx: CoreContext, options: InventoryOptions = {}): Promise<Inventory> {
  const now = ctx.clock.now()
  const window = options.since || options.until ? { since: options.since ?? new Date(0), until: options.until ?? now } : null
  if (window && window.since >= window.until) {
    throw new UsageError(`--since (${readableTime(window.since)}) is not before --until (${readableTime(window.until)})`, 'Give a start before the end, e.g. --since 30d')
  }
  const existed = (created: Date, ended: Date | null) => !window || (created < window.until && (!ended || ended >= window.since))
  const age = (d: Date) => Math.max(0, Math.floor((now.getTime() - d.getTime()) / 86_400_000))
  const { keys, gitea, n8n } = await inventoryRows(ctx.sql)
  const items: InventoryItem[] = [
    ...keys.filter((k) => existed(k.created_at, first(k.revoked_at, k.expires_at, k.grace_expires_at))).map((k): InventoryItem => ({
      kind: 'momentry-key',
      id: k.key_id,
      name: k.name,
      type: k.key_type,
      owner: k.owner,
      service: null,
      scopes: k.scopes,
      createdAt: k.created_at.toISOString(),
      createdBy: k.created_by,
      expiresAt: iso(k.expires_at),
      lastUsedAt: iso(k.last_used_at),
      ageDays: age(k.created_at),
      status: keyStatus({ enabled: k.enabled, revokedAt: k.revoked_at, expiresAt: k.expires_at, graceExpiresAt: k.grace_expires_at }, now),
      drift: null,
    })),
    ...gitea.filter((t) => existed(t.created_at, t.deleted_at)).map((t): InventoryItem => ({
      kind: 'gitea-token',
      id: t.id,
      name: t.token_name,
      type: null,
      owner: t.username,
      service: t.gitea_url,
      scopes: t.scopes,
      createdAt: t.created_at.toISOString(),
      createdBy: t.created_by,
      expiresAt: null,
      lastUsedAt: null,
      ageDays: age(t.created_at),
      status: t.deleted_at ? 'deleted' : 'active',
      drift: null,
    })),
    ...n8n.filter((k) => existed(k.created_at, first(k.deleted_at, k.expires_at))).map((k): InventoryItem => ({
      kind: 'n8n-api-key',
      id: k.n8n_key_id,
      name: k.label,
      type: null,
      owner: k.n8n_user,
      service: k.n8n_url,
      scopes: k.scopes,
      createdAt: k.created_at.toISOString(),
      createdBy: k.created_by,
      expiresAt: iso(k.expires_at),
      lastUsedAt: null,
      ageDays: age(k.created_at),
      status: k.deleted_at ? 'deleted' : k.expires_at && k.expires_at.getTime() <= now.getTime() ? 'expired' : 'active',
      drift: null,
    })),
  ]
  const count = (kind: InventoryItem['kind']) => items.filter((i) => i.kind === kind).length
  const counts = { 'momentry-key': count('momentry-key'), 'gitea-token': count('gitea-token'), 'n8n-api-key': count('n8n-api-key') }
  return { generatedAt: now.toISOString(), window: window && { since: window.since.toISOString(), until: window.until.toISOString() }, items, counts, checks: [], untracked: [] }
}
