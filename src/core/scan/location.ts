import { printable } from '../printable.js'
import type { LeakLocation } from './scan.js'

/** A place as one short line for a revocation reason and the `key.leaked` event. */
export function describeLocation(l: LeakLocation): string {
  const at = `${l.path ?? 'stdin'}:${l.line}`
  return printable(l.commit ? `commit ${l.commit.slice(0, 12)} ${at}` : at, 200)
}
