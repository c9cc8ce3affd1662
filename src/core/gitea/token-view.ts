import type { Drift } from '../integrations/tracked-credential.js'
import type { GiteaToken } from './gitea-client.js'
import type { GiteaTokenRecord } from './repo.js'

/** A Gitea token as momentry shows it: never the secret, at most its last eight characters. */
export interface GiteaTokenView {
  id: number
  user: string
  name: string
  scopes: string[]
  lastEight: string
  /** When momentry created it (null for a token momentry does not track). */
  createdAt: string | null
  createdBy: string | null
  tracked: boolean
  /** Present in Gitea's list (null when the server was not asked). */
  onServer: boolean | null
  /** `gone`: tracked but no longer in Gitea; `untracked`: in Gitea, not created through momentry. */
  drift: Drift
}

/** A tracked token; `onServer` and `drift` are the listing's verdict (`true`/null right after minting). */
export const fromRecord = (r: GiteaTokenRecord, onServer: boolean | null, drift: Drift = null): GiteaTokenView => ({
  id: r.tokenId,
  user: r.user,
  name: r.name,
  scopes: r.scopes,
  lastEight: r.lastEight,
  createdAt: r.createdAt.toISOString(),
  createdBy: r.createdBy,
  tracked: true,
  onServer,
  drift,
})

/** A token Gitea lists that momentry did not make. */
export const fromRemote = (t: GiteaToken, user: string): GiteaTokenView => ({
  id: t.id,
  user,
  name: t.name,
  scopes: t.scopes,
  lastEight: t.token_last_eight,
  createdAt: null,
  createdBy: null,
  tracked: false,
  onServer: true,
  drift: 'untracked',
})
