import type { CoreContext } from '../context.js'
import { normaliseUrl } from '../credentials/credential-store.js'
import { MomentryError } from '../errors.js'
import { giteaTarget, verifyGiteaToken } from '../gitea/gitea-client.js'
import { n8nTarget, verifyN8nKey } from '../n8n/n8n-client.js'
import { printable } from '../printable.js'
import type { ServiceCredential } from './find-service-tokens.js'
import type { TrackedServiceCredential } from './repo.js'

/** What the service said about one candidate. */
export type Confirmation =
  /** The service accepts it and it is this tracked record (`ambiguous`: more than one record fits, so none is acted on). */
  | { status: 'confirmed'; record: TrackedServiceCredential; ambiguous: boolean }
  /** The service could not be asked (unreachable, timed out, 5xx, a strange answer): it may be the token. */
  | { status: 'unconfirmed'; record: TrackedServiceCredential; reason: string }
  /** The service does not accept it as the tracked credential: text that merely ends the same way. */
  | { status: 'refused' }

/** Verify calls in flight at once, across both services. */
export const CONFIRM_CONCURRENCY = 4

const tailLength: Record<ServiceCredential, number> = { gitea: 8, n8n: 4 }

/** Candidates by service and text: each distinct one is asked about once. */
export const candidateKey = (credential: ServiceCredential, raw: string) => `${credential}\u0000${raw}`

/** A failure as one printable line that cannot carry the candidate, even if the server echoed it. */
function reasonOf(error: unknown, raw: string): string {
  const line = error instanceof MomentryError ? error.reason : String(error)
  return printable(line.split(raw).join('[token]'), 200)
}

/**
 * Ask the service a candidate claims to be from (at each URL a tracked record with that tail
 * lives on) whether it accepts it. Gitea: `GET /api/v1/user` must accept it, and as the
 * recorded user when it says whose it is; n8n: `GET /api/v1/workflows?limit=1`. A 401 is a
 * refusal; a service that cannot answer leaves the candidate unconfirmed, never throws.
 */
async function confirmOne(ctx: CoreContext, credential: ServiceCredential, raw: string, tracked: readonly TrackedServiceCredential[]): Promise<Confirmation> {
  const tail = raw.slice(-tailLength[credential])
  const matching = tracked.filter((t) => t.credential === credential && t.suffix === tail)
  const byUrl = new Map<string, TrackedServiceCredential[]>()
  for (const t of matching) byUrl.set(normaliseUrl(t.url), [...(byUrl.get(normaliseUrl(t.url)) ?? []), t])
  let unconfirmed: Confirmation | undefined
  const timeout = ctx.config.httpTimeoutSeconds
  for (const records of byUrl.values()) {
    const url = records[0]!.url
    try {
      let fits: TrackedServiceCredential[] = []
      if (credential === 'gitea') {
        const v = await verifyGiteaToken(giteaTarget(url, timeout), raw)
        // Valid, or known to Gitea but refused for its user's state (403): the token exists.
        if (v.status === 'valid') fits = records.filter((r) => r.user?.toLowerCase() === v.login.toLowerCase())
        else if (v.status === 'insufficient_scope' || v.status === 'refused') fits = records
      } else {
        const v = await verifyN8nKey(n8nTarget(url, timeout), raw)
        if (v.valid) fits = records
      }
      if (fits.length > 0) return { status: 'confirmed', record: fits[0]!, ambiguous: fits.length > 1 }
    } catch (error) {
      unconfirmed ??= { status: 'unconfirmed', record: records[0]!, reason: reasonOf(error, raw) }
    }
  }
  return unconfirmed ?? { status: 'refused' }
}

/**
 * Confirm each distinct candidate once, at most CONFIRM_CONCURRENCY calls at a time, each
 * bounded by MOMENTRY_HTTP_TIMEOUT_SECONDS. The candidates are never logged.
 */
export async function confirmCandidates(
  ctx: CoreContext,
  candidates: readonly { credential: ServiceCredential; raw: string }[],
  tracked: readonly TrackedServiceCredential[],
): Promise<Map<string, Confirmation>> {
  const distinct = new Map<string, { credential: ServiceCredential; raw: string }>()
  for (const c of candidates) distinct.set(candidateKey(c.credential, c.raw), c)
  const queue = [...distinct.entries()]
  const results = new Map<string, Confirmation>()
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [key, c] = next
      results.set(key, await confirmOne(ctx, c.credential, c.raw, tracked))
    }
  }
  await Promise.all(Array.from({ length: Math.min(CONFIRM_CONCURRENCY, queue.length) }, worker))
  return results
}
