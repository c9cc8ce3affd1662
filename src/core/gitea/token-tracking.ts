import type { CoreContext } from '../context.js'
import { recordDeleted, recordMinted } from '../integrations/tracked-credential.js'
import type { CreatedGiteaToken, GiteaSession } from './gitea-client.js'
import { deleteGiteaTokenRemote } from './gitea-client.js'
import type { GiteaTokenRecord } from './repo.js'
import { insertGiteaToken, markGiteaTokenDeleted } from './repo.js'

// What momentry writes and announces when a Gitea token starts or stops being tracked: the
// record, its audit row in the same transaction, and the event once that has committed.

/**
 * Track a token Gitea has just made (its last eight characters only) and emit
 * `gitea.token.created`. If recording fails, the token is deleted in Gitea again.
 */
export async function trackGiteaToken(ctx: CoreContext, s: GiteaSession, user: string, created: CreatedGiteaToken, rotatedFrom: number | null): Promise<GiteaTokenRecord> {
  const at = ctx.clock.now()
  const record = await recordMinted(ctx, {
    what: `Gitea token ${created.id}`,
    service: 'Gitea',
    at,
    insert: (tx) =>
      insertGiteaToken(tx, {
        url: s.target.url,
        tokenId: created.id,
        user,
        name: created.name,
        scopes: created.scopes,
        lastEight: (created.token_last_eight || created.sha1.slice(-8)).slice(-8),
        createdAt: at,
        createdBy: ctx.actor,
      }),
    audit: {
      action: rotatedFrom === null ? 'gitea.token.create' : 'gitea.token.rotate',
      details: { giteaUrl: s.target.url, user, tokenId: created.id, name: created.name, scopes: created.scopes, ...(rotatedFrom === null ? {} : { rotatedFrom }) },
    },
    undo: () => deleteGiteaTokenRemote(s, user, created.id),
  })
  ctx.bus.emit({ type: 'gitea.token.created', giteaUrl: s.target.url, tokenId: record.tokenId, user, name: record.name, scopes: record.scopes, rotatedFrom, at: at.toISOString() })
  return record
}

/**
 * Stop tracking a token and audit the delete (also for a token momentry never tracked: the
 * delete was still made through it), then emit `gitea.token.deleted`. True when it was tracked.
 */
export async function untrackGiteaToken(
  ctx: CoreContext,
  s: GiteaSession,
  t: { id: number; user: string; name: string | null },
  how: { alreadyGone?: boolean; replacedBy?: number; reason?: string } = {},
): Promise<boolean> {
  const at = ctx.clock.now()
  const tracked = await recordDeleted(ctx, {
    at,
    markDeleted: (tx) => markGiteaTokenDeleted(tx, s.target.url, t.id, at),
    audit: { action: 'gitea.token.delete', details: { giteaUrl: s.target.url, user: t.user, tokenId: t.id, ...how } },
  })
  ctx.bus.emit({
    type: 'gitea.token.deleted',
    giteaUrl: s.target.url,
    tokenId: t.id,
    user: t.user,
    name: t.name,
    tracked,
    alreadyGone: how.alreadyGone ?? false,
    replacedBy: how.replacedBy ?? null,
    at: at.toISOString(),
  })
  return tracked
}
