import { formatDuration } from '../duration.js'
import type { KeyStatus, KeyType } from './key-types.js'
import type { KeyRecord } from './repo.js'
import { keyStatus } from './status.js'

/** A key as every surface shows it (`--json`, tables, HTTP). Never the secret or its hash. */
export interface KeyView {
  id: string
  name: string
  type: KeyType
  status: KeyStatus
  /** First characters of the key, enough to recognise it, never enough to use it. */
  stub: string
  scopes: string[]
  owner: string | null
  metadata: Record<string, string>
  createdAt: string
  createdBy: string
  expiresAt: string | null
  lastUsedAt: string | null
  rotateEvery: string | null
  rotatedFrom: string | null
  replacedBy: string | null
  rotatedAt: string | null
  graceExpiresAt: string | null
  revokedAt: string | null
  revokedReason: string | null
  disabledAt: string | null
  disabledReason: string | null
}

const iso = (d: Date | null) => (d ? d.toISOString() : null)

export function toKeyView(r: KeyRecord, now: Date): KeyView {
  return {
    id: r.keyId,
    name: r.name,
    type: r.type,
    status: keyStatus(r, now),
    stub: `${r.stub}…`,
    scopes: r.scopes,
    owner: r.owner,
    metadata: r.metadata,
    createdAt: r.createdAt.toISOString(),
    createdBy: r.createdBy,
    expiresAt: iso(r.expiresAt),
    lastUsedAt: iso(r.lastUsedAt),
    rotateEvery: r.rotateEverySeconds ? formatDuration(r.rotateEverySeconds) : null,
    rotatedFrom: r.rotatedFrom,
    replacedBy: r.replacedBy,
    rotatedAt: iso(r.rotatedAt),
    graceExpiresAt: iso(r.graceExpiresAt),
    revokedAt: iso(r.revokedAt),
    revokedReason: r.revokedReason,
    disabledAt: iso(r.disabledAt),
    disabledReason: r.disabledReason,
  }
}
