import type { CoreContext } from '../context.js'
import type { TransactionSql } from '../db/connect.js'
import { NotFoundError, UsageError } from '../errors.js'
import { printable } from '../duration.js'
import { KEY_ID_PATTERN } from './key-format.js'
import type { KeyRecord } from './repo.js'
import { findKey } from './repo.js'

/** Reject anything that is not a key id before it reaches SQL, naming the expected shape. */
export function assertKeyId(id: string): string {
  if (!KEY_ID_PATTERN.test(id)) {
    throw new UsageError(
      `"${printable(id)}" is not a key id`,
      'Key ids look like key_ followed by 16 letters or digits; `momentry api-key list` shows them',
    )
  }
  return id
}

export function keyNotFound(id: string): NotFoundError {
  return new NotFoundError(`no API key with id ${id}`, 'Run `momentry api-key list` to see key ids')
}

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
    const key = await findKey(tx, id, { forUpdate: true })
    if (!key) throw keyNotFound(id)
    return change(tx, key, ctx.clock.now())
  }) as Promise<T>
}
