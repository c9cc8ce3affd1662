import { checkGiteaLogin, giteaTarget } from '../gitea/gitea-client.js'
import { loginN8n, n8nTarget } from '../n8n/n8n-client.js'
import type { CredentialSource, CredentialStore, SaveResult, SecretSource, Service } from './credential-store.js'
import { normaliseUrl, SERVICES, storedCredentialSchema } from './credential-store.js'
import { parseInput } from '../validate-input.js'

export interface LoginResult extends SaveResult {
  service: Service
  url: string
  username: string
  /** Set when the GITEA_ or N8N_ credential variables are present: they win over what was just stored. */
  overriddenByEnv: boolean
}

/**
 * Check the credentials against the service, then store them. A refused password throws
 * (exit 7) before anything is written.
 */
export async function loginService(
  store: CredentialStore,
  input: { service: Service; url: string; username: string; password: string; timeoutSeconds: number },
): Promise<LoginResult> {
  const url = normaliseUrl(input.url)
  const credential = parseInput(storedCredentialSchema, { url, username: input.username, password: input.password })
  if (input.service === 'gitea') {
    await checkGiteaLogin({ target: giteaTarget(url, input.timeoutSeconds), username: credential.username, password: credential.password })
  } else {
    await loginN8n(n8nTarget(url, input.timeoutSeconds), credential.username, credential.password)
  }
  const saved = await store.save(input.service, credential)
  const resolved = await store.resolve(input.service)
  return { service: input.service, url, username: credential.username, ...saved, overriddenByEnv: resolved.source === 'env' }
}

export interface AuthStatusEntry {
  service: Service
  /** Where the user and password come from. */
  source: CredentialSource
  url: string
  urlSource: 'env' | 'stored' | 'default'
  username: string | null
}

/** Per service: where credentials come from, the URL and the user — never the password. */
export async function authStatus(store: CredentialStore): Promise<{ services: AuthStatusEntry[]; store: { mode: string; file: string } }> {
  const services = await Promise.all(
    SERVICES.map(async (service) => {
      const r = await store.resolve(service)
      return { service, source: r.source, url: r.url, urlSource: r.urlSource, username: r.username ?? null }
    }),
  )
  return { services, store: { mode: store.mode, file: store.file } }
}

export async function logoutService(store: CredentialStore, service: Service): Promise<{ service: Service; removed: Array<'keychain' | 'file'> }> {
  return { service, removed: await store.remove(service) }
}

/** What momentry holds in the credential store: account names and where each is, never a value. */
export async function listStoredSecrets(store: CredentialStore): Promise<{ items: { account: string; source: SecretSource }[]; store: { mode: string; file: string } }> {
  return { items: await store.listAccounts(), store: { mode: store.mode, file: store.file } }
}
