import { reserveAuditSeq } from '../audit/repo.js'
import type { CoreContext } from '../context.js'
import type { TransactionSql } from '../db/connect.js'
import { assertKeyId, keyNotFound } from './key-id.js'
import type { KeyRecord } from './repo.js'
import { findKey } from './repo.js'

/**
 * Run `change` in a transaction holding the key's row lock, so that concurrent changes
 * to one key serialise and each sees the other's result. Waits at most 5 s for the lock.
 */
export async function withLockedKey<T>(
  ctx: CoreContext,
  id: string,
  change: (tx: TransactionSql, key: KeyRecord, now: Date) => Promise<T>,
): Promise<T> {
  assertKeyId(id)
  return ctx.sql.begin(async (tx) => {
    await tx`set local lock_timeout = '5s'`
    const locked = findKey(tx, id, { forUpdate: true })
    // Every change of a key writes its audit row: its sequence number travels with the lock.
    reserveAuditSeq(ctx, tx)
    const key = await locked
    if (!key) throw keyNotFound(id)
    return change(tx, key, ctx.clock.now())
  }) as Promise<T>
}
