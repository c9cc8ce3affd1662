import type { CoreContext } from '../context.js'
import { recordDeleted, recordMinted } from '../integrations/tracked-credential.js'
import { expiryOf } from './key-view.js'
import type { CreatedN8nKey, N8nSession } from './n8n-client.js'
import { deleteN8nKeyRemote } from './n8n-client.js'
import { ownerEmail } from './ownership.js'
import type { N8nKeyRecord } from './repo.js'
import { insertN8nKey, markN8nKeyDeleted } from './repo.js'

// What momentry writes and announces when an n8n key starts or stops being tracked: the
// record, its audit row in the same transaction, and the event once that has committed.

/**
 * Track a key n8n has just made (its last four characters only) and emit `n8n.key.created`.
 * If recording fails, the key is deleted in n8n again. `asked` fills in what n8n's answer
 * may leave out (older builds echo no scopes or expiry).
 */
export async function trackN8nKey(ctx: CoreContext, s: N8nSession, created: CreatedN8nKey, asked: { scopes: string[]; expiresAt: Date | null }, rotatedFrom: string | null): Promise<N8nKeyRecord> {
  const at = ctx.clock.now()
  const record = await recordMinted(ctx, {
    what: `n8n key ${created.id}`,
    service: 'n8n',
    at,
    insert: (tx) =>
      insertN8nKey(tx, {
        url: s.target.url,
        keyId: created.id,
        label: created.label,
        scopes: created.scopes.length ? created.scopes : asked.scopes,
        last4: created.rawApiKey.slice(-4),
        expiresAt: expiryOf(created) ?? asked.expiresAt,
        createdAt: at,
        createdBy: ctx.actor,
        ownerId: created.userId != null ? String(created.userId) : (s.userId ?? null),
        ownerEmail: ownerEmail(s),
      }),
    audit: {
      action: rotatedFrom === null ? 'n8n.key.create' : 'n8n.key.rotate',
      details: { n8nUrl: s.target.url, n8nKeyId: created.id, label: created.label, scopes: asked.scopes, ...(rotatedFrom === null ? {} : { rotatedFrom }) },
    },
    undo: () => deleteN8nKeyRemote(s, created.id),
  })
  ctx.bus.emit({
    type: 'n8n.key.created',
    n8nUrl: s.target.url,
    n8nKeyId: record.keyId,
    label: record.label,
    owner: record.ownerEmail,
    scopes: record.scopes,
    expiresAt: record.expiresAt?.toISOString() ?? null,
    rotatedFrom,
    at: at.toISOString(),
  })
  return record
}

/**
 * Stop tracking a key (if tracked), audit the delete and emit `n8n.key.deleted`; true when it
 * was tracked. With `onlyIfTracked`, a key no longer tracked (another process got there
 * first) changes nothing and is not announced again.
 */
export async function untrackN8nKey(
  ctx: CoreContext,
  s: N8nSession,
  key: { id: string; label: string; owner: string | null },
  how: { alreadyGone: boolean; replacedBy: string | null; onlyIfTracked?: boolean; reason?: string },
): Promise<boolean> {
  const at = ctx.clock.now()
  const details = { n8nUrl: s.target.url, n8nKeyId: key.id, label: key.label, ...(how.alreadyGone ? { alreadyGone: true } : {}), ...(how.replacedBy ? { replacedBy: how.replacedBy } : {}), ...(how.reason === undefined ? {} : { reason: how.reason }) }
  const tracked = await recordDeleted(ctx, {
    at,
    markDeleted: (tx) => markN8nKeyDeleted(tx, s.target.url, key.id, at),
    audit: { action: 'n8n.key.delete', details },
    onlyIfTracked: how.onlyIfTracked,
  })
  if (tracked || !how.onlyIfTracked) {
    ctx.bus.emit({ type: 'n8n.key.deleted', n8nUrl: s.target.url, n8nKeyId: key.id, label: key.label, owner: key.owner, tracked, alreadyGone: how.alreadyGone, replacedBy: how.replacedBy, at: at.toISOString() })
  }
  return tracked
}
