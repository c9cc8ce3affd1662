import type { Drift } from '../integrations/tracked-credential.js'
import type { N8nKey } from './n8n-client.js'
import type { N8nKeyRecord } from './repo.js'

/** An n8n API key as momentry shows it: never the secret, at most its last four characters. */
export interface N8nKeyView {
  id: string
  label: string
  scopes: string[]
  last4: string
  expiresAt: string | null
  createdAt: string | null
  createdBy: string | null
  /** The n8n user (e-mail) it was made for; null when unknown (made before momentry recorded it). */
  owner: string | null
  tracked: boolean
  /** null: another n8n user's key, which the logged-in user cannot see. */
  onServer: boolean | null
  drift: Drift
}

/** A tracked key; `onServer` and `drift` are the listing's verdict (`true`/null right after minting). */
export const fromRecord = (r: N8nKeyRecord, onServer: boolean | null, drift: Drift = null): N8nKeyView => ({
  id: r.keyId,
  label: r.label,
  scopes: r.scopes,
  last4: r.last4,
  expiresAt: r.expiresAt?.toISOString() ?? null,
  createdAt: r.createdAt.toISOString(),
  createdBy: r.createdBy,
  owner: r.ownerEmail,
  tracked: true,
  onServer,
  drift,
})

/** n8n's expiresAt (unix seconds, or an ISO string on some builds) as a Date. */
export function expiryOf(k: N8nKey): Date | null {
  if (k.expiresAt === null || k.expiresAt === undefined) return null
  const d = typeof k.expiresAt === 'number' ? new Date(k.expiresAt * 1000) : new Date(k.expiresAt)
  return Number.isNaN(d.getTime()) ? null : d
}

const lastFour = (k: N8nKey) => (k.apiKey ?? '').replace(/^\*+/, '').slice(-4)

/** A key n8n lists that momentry did not make; `owner` is the login n8n listed it for. */
export const fromRemote = (k: N8nKey, owner: string): N8nKeyView => ({
  id: k.id,
  label: k.label,
  scopes: k.scopes,
  last4: lastFour(k),
  expiresAt: expiryOf(k)?.toISOString() ?? null,
  createdAt: null,
  createdBy: null,
  owner,
  tracked: false,
  onServer: true,
  drift: 'untracked',
})
