import os from 'node:os'

import type { CoreContext } from './context.js'

/** `cli:<os user>`; falls back to $USER where the passwd entry is missing (containers). */
export function defaultActor(prefix = 'cli'): string {
  let user: string | undefined
  try {
    user = os.userInfo().username
  } catch {
    user = process.env.USER
  }
  return `${prefix}:${user || 'unknown'}`
}

/**
 * The same context acting as someone else (`api:<key id>`, `momentry:anomaly`), for the
 * audit rows and `created_by` of what it does. The connections stay the caller's: nothing
 * is opened or read to make it (a spread would touch the lazy `sql`).
 */
export function withActor(ctx: CoreContext, actor: string): CoreContext {
  return Object.create(ctx, { actor: { value: actor, enumerable: true } }) as CoreContext
}
