import { formatDuration } from '../duration.js'
import * as z from 'zod'

import { KEY_STATUSES, KEY_TYPES } from './key-types.js'
import type { KeyRecord } from './repo.js'
import { keyStatus } from './status.js'

/** A key as every surface shows it (`--json`, tables, HTTP). Never the secret or its hash. */
export const keyViewSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    type: z.enum(KEY_TYPES),
    status: z.enum(KEY_STATUSES),
    /** First characters of the key, enough to recognise it, never enough to use it. */
    stub: z.string(),
    scopes: z.array(z.string()),
    owner: z.string().nullable(),
    metadata: z.record(z.string(), z.string()),
    createdAt: z.string(),
    createdBy: z.string(),
    expiresAt: z.string().nullable(),
    lastUsedAt: z.string().nullable(),
    rotateEvery: z.string().nullable(),
    rotatedFrom: z.string().nullable(),
    replacedBy: z.string().nullable(),
    rotatedAt: z.string().nullable(),
    graceExpiresAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
    revokedReason: z.string().nullable(),
    disabledAt: z.string().nullable(),
    disabledReason: z.string().nullable(),
  })
  .meta({ id: 'ApiKey', description: 'An API key (never its secret or hash).' })

export type KeyView = z.infer<typeof keyViewSchema>

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
