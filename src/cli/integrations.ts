import type { CoreContext } from '../core/context.js'
import { CredentialStore } from '../core/credentials/credential-store.js'
import type { GiteaSession } from '../core/gitea/gitea-client.js'
import { giteaSession, giteaTarget } from '../core/gitea/gitea-client.js'
import type { ServiceTarget } from '../core/integrations/http.js'
import type { N8nSession } from '../core/n8n/n8n-client.js'
import { loginN8n, n8nCredentials, n8nTarget } from '../core/n8n/n8n-client.js'
import type { DriftSessions } from '../core/reports/inventory-drift.js'

/** The credential store of this CLI run (real keychain, file fallback, env overrides). */
export function credentialStore(ctx: CoreContext): CredentialStore {
  return new CredentialStore({ config: ctx.config, log: ctx.log })
}

/** Gitea as the stored (or env) admin user. */
export async function giteaFor(ctx: CoreContext): Promise<GiteaSession> {
  return giteaSession(await credentialStore(ctx).resolve('gitea'), ctx.config.httpTimeoutSeconds)
}

/** A fresh n8n session (logs in with the stored or env credentials). */
export async function n8nFor(ctx: CoreContext): Promise<N8nSession> {
  const cred = await credentialStore(ctx).resolve('n8n')
  const { email, password } = n8nCredentials(cred)
  return loginN8n(n8nTarget(cred.url, ctx.config.httpTimeoutSeconds), email, password)
}

/** Where to verify a token: only the URL is needed, no credentials. */
export async function serviceTargetFor(ctx: CoreContext, service: 'gitea' | 'n8n'): Promise<ServiceTarget> {
  const { url } = await credentialStore(ctx).resolve(service)
  return service === 'gitea' ? giteaTarget(url, ctx.config.httpTimeoutSeconds) : n8nTarget(url, ctx.config.httpTimeoutSeconds)
}

/** Sessions for `report inventory --drift`: undefined for a service without credentials. */
export function driftSessions(ctx: CoreContext): DriftSessions {
  const configured = async (service: 'gitea' | 'n8n') => (await credentialStore(ctx).resolve(service)).source !== 'none'
  return {
    gitea: async () => ((await configured('gitea')) ? giteaFor(ctx) : undefined),
    n8n: async () => ((await configured('n8n')) ? n8nFor(ctx) : undefined),
  }
}
