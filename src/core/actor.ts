import os from 'node:os'

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
 * is opened or read to make it (a spread would touch the lazy `sql`). Generic over the
 * context so this module imports nothing of the core: config.ts needs `defaultActor`.
 */
export function withActor<C extends { readonly actor: string }>(ctx: C, actor: string): C {
  return Object.create(ctx, { actor: { value: actor, enumerable: true } }) as C
}
