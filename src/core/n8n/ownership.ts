import { ExternalServiceError, RemoteNotFoundError } from '../errors.js'
import type { N8nSession } from './n8n-client.js'
import type { N8nKeyRecord } from './repo.js'

// n8n shows, deletes and rotates only the logged-in user's own keys, so whose key a tracked
// record is decides what its absence from n8n's list means.

/** The logged-in user's e-mail as n8n knows it (the login may have been typed differently). */
export const ownerEmail = (s: N8nSession): string => s.userEmail ?? s.email

const sameEmail = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()

/**
 * Whether a tracked key is the session user's: by n8n user id when both are known, else by
 * e-mail. 'unknown' for rows recorded before momentry kept the owner.
 */
export function ownerOf(r: N8nKeyRecord, s: N8nSession): 'mine' | 'other' | 'unknown' {
  if (r.ownerId && s.userId) return r.ownerId === s.userId ? 'mine' : 'other'
  if (r.ownerEmail) return sameEmail(r.ownerEmail, ownerEmail(s)) || sameEmail(r.ownerEmail, s.email) ? 'mine' : 'other'
  return 'unknown'
}

/** Another n8n user's key: only they can see, rotate or delete it. */
export function notTheirs(s: N8nSession, id: string, r: N8nKeyRecord): RemoteNotFoundError {
  return new RemoteNotFoundError(
    `n8n API key ${id} ("${r.label}") belongs to the n8n user ${r.ownerEmail ?? 'who made it'}, not ${s.email}; n8n lets only its owner see, rotate or delete it`,
    `Log in as that user (\`momentry auth login n8n\`, or N8N_EMAIL/N8N_PASSWORD) and run the command again; nothing was changed`,
  )
}

/** n8n paged its answer and sent less than all of the user's keys: absence proves nothing. */
export function partialList(s: N8nSession, id: string): ExternalServiceError {
  return new ExternalServiceError(`n8n sent only part of ${s.email}'s key list and ${id} is not on it, so momentry cannot tell whether the key still exists`, {
    code: 'SERVICE_BAD_RESPONSE',
    status: 200,
    hint: 'Delete or rotate it in the n8n UI (Settings → n8n API), then check with `momentry n8n list`; nothing was changed',
  })
}
