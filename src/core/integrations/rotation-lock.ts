import type { CoreContext } from '../context.js'
import { ConflictError } from '../errors.js'

/**
 * Run one rotation of a Gitea token or n8n key at a time across every momentry process:
 * a session-level advisory lock on a reserved connection, taken without waiting. A second
 * rotation of the same credential fails at once (exit 6) instead of minting a second
 * replacement; one that starts after the first has finished finds it no longer tracked.
 */
export async function withRotationLock<T>(ctx: CoreContext, what: string, key: string, fn: () => Promise<T>): Promise<T> {
  const conn = await ctx.sql.reserve()
  try {
    const [row] = await conn`select pg_try_advisory_lock(hashtextextended(${`momentry:rotate:${key}`}, 0)) as locked`
    if (!row?.locked) throw new ConflictError(`${what} is being rotated by another momentry process`, 'Wait for it to finish, then `list` shows the replacement')
    try {
      return await fn()
    } finally {
      await conn`select pg_advisory_unlock(hashtextextended(${`momentry:rotate:${key}`}, 0))`.catch(() => {})
    }
  } finally {
    conn.release()
  }
}
