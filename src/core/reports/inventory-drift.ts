import type { CoreContext } from '../context.js'
import type { GiteaSession } from '../gitea/gitea-client.js'
import { listGiteaTokens } from '../gitea/gitea-tokens.js'
import { reportedFailure } from '../integrations/tracked-credential.js'
import { normaliseUrl } from '../credentials/credential-store.js'
import type { N8nSession } from '../n8n/n8n-client.js'
import { listN8nKeys } from '../n8n/n8n-keys.js'
import type { DriftCheck, Inventory, InventoryItem, UntrackedCredential } from './inventory.js'

/** Opens a session with a server, or says it is not configured (undefined). */
export interface DriftSessions {
  gitea: () => Promise<GiteaSession | undefined>
  n8n: () => Promise<N8nSession | undefined>
}

const live = (i: InventoryItem) => i.status !== 'deleted'

/**
 * Compare the inventory's Gitea tokens and n8n keys with the servers' own lists (the same joins
 * as `gitea list` and `n8n list`): each live tracked credential gets `drift` `in sync` or
 * `gone`, and what a server has that momentry did not make is listed as untracked. Gitea is
 * asked for every user with a live tracked token there (and the logged-in user); n8n lists
 * only the logged-in user's keys, so another user's key keeps `drift: null`. A server that
 * cannot be asked is a failed check with its reason, and its credentials keep `drift: null`:
 * the rest of the report stands.
 */
export async function checkInventoryDrift(ctx: CoreContext, inventory: Inventory, sessions: DriftSessions): Promise<Inventory> {
  const items = inventory.items.map((i) => ({ ...i }))
  const checks: DriftCheck[] = []
  const untracked: UntrackedCredential[] = []
  const find = (kind: InventoryItem['kind'], url: string, id: string) => items.find((i) => i.kind === kind && i.service !== null && sameUrl(i.service, url) && i.id === id)

  await attempt(checks, 'gitea', sessions.gitea, async (s) => {
    const users = [...new Set([s.username, ...items.filter((i) => i.kind === 'gitea-token' && live(i) && i.service && sameUrl(i.service, s.target.url)).map((i) => i.owner!)])]
    for (const user of users) {
      const list = await listGiteaTokens(ctx, s, { user })
      for (const t of list.items) {
        if (!t.tracked) untracked.push({ kind: 'gitea-token', service: list.url, id: String(t.id), name: t.name, owner: user, scopes: t.scopes })
        else setDrift(find('gitea-token', list.url, String(t.id)), t.drift)
      }
    }
    return { url: s.target.url, users }
  })
  await attempt(checks, 'n8n', sessions.n8n, async (s) => {
    const list = await listN8nKeys(ctx, s)
    for (const k of list.items) {
      if (!k.tracked) untracked.push({ kind: 'n8n-api-key', service: list.url, id: k.id, name: k.label, owner: list.user, scopes: k.scopes })
      else if (k.onServer !== null) setDrift(find('n8n-api-key', list.url, k.id), k.drift)
    }
    return { url: s.target.url, users: [list.user] }
  })
  return { ...inventory, items, checks, untracked }
}

function setDrift(item: InventoryItem | undefined, drift: 'gone' | 'untracked' | null): void {
  if (item && live(item)) item.drift = drift === 'gone' ? 'gone' : 'in sync'
}

const sameUrl = (a: string, b: string) => normaliseUrl(a) === normaliseUrl(b)

async function attempt<S extends { target: { url: string } }>(
  checks: DriftCheck[],
  service: DriftCheck['service'],
  open: () => Promise<S | undefined>,
  compare: (s: S) => Promise<{ url: string; users: string[] }>,
): Promise<void> {
  let url: string | null = null
  try {
    const s = await open()
    if (!s) {
      checks.push({ service, url, status: 'not configured', users: [] })
      return
    }
    url = s.target.url
    checks.push({ service, status: 'checked', ...(await compare(s)) })
  } catch (error) {
    checks.push({ service, url, status: 'failed', users: [], message: reportedFailure(error).message })
  }
}
