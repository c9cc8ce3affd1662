import { NotFoundError, UsageError } from '../errors.js'
import { printable } from '../printable.js'
import { newPublicId } from '../random-id.js'

/** A key's public id: `key_` and 16 base62 characters, used by every command and route. */
export const KEY_ID_PATTERN = /^key_[0-9A-Za-z]{16}$/

export function newKeyId(): string {
  return newPublicId('key_')
}

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
