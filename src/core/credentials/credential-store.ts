import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

import * as z from 'zod'

import type { Config } from '../config.js'
import { ConfigError, UsageError } from '../errors.js'
import type { Logger } from '../log.js'
import type { KeyringBackend } from './keyring.js'
import { keychainReason, napiKeyring } from './keyring.js'

/** The two services momentry holds credentials for. */
export const SERVICES = ['gitea', 'n8n'] as const
export type Service = (typeof SERVICES)[number]

/** What `auth login` stores. `username` is the Gitea login or the n8n e-mail address. */
export const storedCredentialSchema = z.object({
  url: z.string().min(1),
  username: z.string().min(1),
  password: z.string().min(1),
})
export type StoredCredential = z.infer<typeof storedCredentialSchema>

export type CredentialSource = 'env' | 'keychain' | 'file' | 'none'

/** Credentials ready to use, and where each part came from (never logged with the password). */
export interface ResolvedCredential {
  service: Service
  url: string
  urlSource: 'env' | 'stored' | 'default'
  username?: string
  password?: string
  source: CredentialSource
}

const fileSchema = z.record(z.string(), storedCredentialSchema)

export interface CredentialStoreOptions {
  config: Pick<Config, 'dataDir' | 'credentialStore' | 'giteaUrl' | 'n8nUrl' | 'gitea' | 'n8n'>
  keyring?: KeyringBackend
  log: Logger
}

export interface SaveResult {
  store: 'keychain' | 'file'
  /** The fallback file, when that is where the credentials went. */
  file?: string
  /** Why the keychain was not used (first line of its error), when it was tried. */
  keychainError?: string
}

/**
 * Where Gitea and n8n credentials live: environment variables override the OS keychain,
 * which falls back to a 0600 JSON file in MOMENTRY_DATA_DIR where no keychain is usable.
 * `MOMENTRY_CREDENTIAL_STORE=file|keychain` pins one backend.
 */
export class CredentialStore {
  readonly file: string
  private readonly keyring: KeyringBackend
  private fallbackNoticeGiven = false

  constructor(private readonly options: CredentialStoreOptions) {
    this.file = join(options.config.dataDir, 'credentials.json')
    this.keyring = options.keyring ?? napiKeyring()
  }

  get mode(): 'auto' | 'keychain' | 'file' {
    return this.options.config.credentialStore
  }

  /** Credentials for a service: env first, then keychain, then the file. Never throws for "none". */
  async resolve(service: Service): Promise<ResolvedCredential> {
    const c = this.options.config
    const env = service === 'gitea' ? { url: c.gitea.url, username: c.gitea.username, password: c.gitea.password } : { url: c.n8n.url, username: c.n8n.email, password: c.n8n.password }
    const defaultUrl = service === 'gitea' ? c.giteaUrl : c.n8nUrl
    if (Boolean(env.username) !== Boolean(env.password)) {
      const [u, p] = service === 'gitea' ? ['GITEA_USERNAME', 'GITEA_PASSWORD'] : ['N8N_EMAIL', 'N8N_PASSWORD']
      throw new ConfigError(`${env.username ? u : p} is set but ${env.username ? p : u} is not`, `Set both to use ${service} credentials from the environment, or unset both to use \`momentry auth login ${service}\``)
    }
    const stored = env.username ? undefined : await this.read(service)
    const url = normaliseUrl(env.url ?? stored?.value.url ?? defaultUrl)
    const urlSource = env.url ? 'env' : stored ? 'stored' : 'default'
    if (env.username) return { service, url, urlSource, username: env.username, password: env.password, source: 'env' }
    if (stored) return { service, url, urlSource, username: stored.value.username, password: stored.value.password, source: stored.source }
    return { service, url, urlSource, source: 'none' }
  }

  /** Store credentials (already verified by the caller). Says once on the log when it falls back to the file. */
  async save(service: Service, value: StoredCredential): Promise<SaveResult> {
    const credential = storedCredentialSchema.parse(value)
    let keychainError: string | undefined
    if (this.mode !== 'file') {
      let stored = false
      try {
        await this.keyring.set(service, JSON.stringify(credential))
        stored = true
      } catch (error) {
        keychainError = keychainReason(error)
        if (this.mode === 'keychain') {
          throw new ConfigError(`the OS keychain is not usable here (${keychainError})`, 'Unset MOMENTRY_CREDENTIAL_STORE (or set it to file) to use the 0600 file fallback')
        }
        this.noticeFallback(keychainError)
      }
      if (stored) {
        // One place only: a stale file entry would confuse `auth status`. Outside the keychain's
        // try, so a bad file is reported as such, not as a keychain failure.
        await this.removeFromFile(service)
        return { store: 'keychain' }
      }
    }
    await this.writeFileEntry(service, credential)
    return { store: 'file', file: this.file, keychainError }
  }

  /** Remove stored credentials from the keychain and the file. Returns where something was removed. */
  async remove(service: Service): Promise<Array<'keychain' | 'file'>> {
    const removed: Array<'keychain' | 'file'> = []
    if (this.mode !== 'file') {
      try {
        if (await this.keyring.delete(service)) removed.push('keychain')
      } catch {
        // No usable keychain: nothing can be stored there either.
      }
    }
    if (await this.removeFromFile(service)) removed.push('file')
    return removed
  }

  /** Whether the keychain can store a value here (writes and deletes a probe entry). */
  async probeKeychain(): Promise<{ available: boolean; reason?: string }> {
    if (this.mode === 'file') return { available: false, reason: 'MOMENTRY_CREDENTIAL_STORE=file' }
    try {
      await this.keyring.set('momentry-probe', 'probe')
      await this.keyring.delete('momentry-probe')
      return { available: true }
    } catch (error) {
      return { available: false, reason: keychainReason(error) }
    }
  }

  private noticeFallback(reason: string): void {
    if (this.fallbackNoticeGiven) return
    this.fallbackNoticeGiven = true
    this.options.log.warn(`no usable OS keychain (${reason}); storing credentials in ${this.file} (mode 0600) instead`)
  }

  private async read(service: Service): Promise<{ value: StoredCredential; source: 'keychain' | 'file' } | undefined> {
    if (this.mode !== 'file') {
      try {
        const raw = await this.keyring.get(service)
        if (raw) {
          const parsed = storedCredentialSchema.safeParse(safeJson(raw))
          if (parsed.success) return { value: parsed.data, source: 'keychain' }
        }
      } catch {
        // Unreadable keychain: the file is where login would have put them.
      }
    }
    const entries = await this.readFile()
    const value = entries[service]
    return value ? { value, source: 'file' } : undefined
  }

  private async readFile(): Promise<Record<string, StoredCredential>> {
    let text: string
    try {
      text = await readFile(this.file, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {}
      throw new ConfigError(`cannot read ${this.file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, 'Check its owner and permissions, or remove it and run `momentry auth login` again')
    }
    const parsed = fileSchema.safeParse(safeJson(text))
    if (!parsed.success) throw new ConfigError(`${this.file} is not a momentry credential file`, 'Remove it and run `momentry auth login gitea|n8n` again')
    const mode = (await stat(this.file)).mode & 0o777
    if (mode & 0o077) await chmod(this.file, 0o600) // someone loosened it: tighten before trusting it further
    return parsed.data
  }

  private async writeFileEntry(service: Service, credential: StoredCredential | undefined): Promise<void> {
    const entries = await this.readFile()
    if (credential) entries[service] = credential
    else delete entries[service]
    const dir = this.options.config.dataDir
    await mkdir(dir, { recursive: true, mode: 0o700 })
    if (Object.keys(entries).length === 0) {
      await rm(this.file, { force: true })
      return
    }
    // Write a 0600 temporary file and rename it: never a moment where the secret is world-readable.
    const tmp = `${this.file}.${process.pid}.tmp`
    await writeFile(tmp, `${JSON.stringify(entries, null, 2)}\n`, { mode: 0o600 })
    await chmod(tmp, 0o600)
    await rename(tmp, this.file)
  }

  private async removeFromFile(service: Service): Promise<boolean> {
    const entries = await this.readFile()
    if (!entries[service]) return false
    await this.writeFileEntry(service, undefined)
    return true
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** `https://git.example/` → `https://git.example`: one spelling per server in the database. */
export function normaliseUrl(value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new UsageError(`"${/@/.test(value) ? '(not shown: it may hold a password)' : value.slice(0, 80)}" is not a URL`, 'Give e.g. https://gitea.example.com')
  }
  // Before anything that echoes the value: a URL with credentials must never be printed.
  if (url.username || url.password) throw new UsageError('the URL must not contain a user or password', 'Give the user with --username and the password on stdin')
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`"${value.slice(0, 80)}" is not an http:// or https:// URL`, 'Give e.g. https://gitea.example.com')
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`
}
