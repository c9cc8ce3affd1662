// Over 250 lines for a reason: the one owner of credentials.json and its keychain twin — env
// precedence, the file fallback notice, login credentials and stored key secrets share one read
// and one atomic write, and splitting them would let two writers of the same file drift apart.
import { chmod, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

import * as z from 'zod'

import type { Config } from '../config.js'
import { secureDataDir } from '../data-dir.js'
import { ConfigError, UsageError } from '../errors.js'
import type { Logger } from '../log.js'
import { parseInput } from '../validate-input.js'
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

/**
 * The fallback file: one entry per account. Service credentials stay the objects `auth login`
 * has always written; any other secret is a string.
 */
const fileSchema = z.record(z.string(), z.union([storedCredentialSchema, z.string()]))
type FileEntries = z.infer<typeof fileSchema>

/** Where a stored secret is. */
export type SecretSource = 'keychain' | 'file'

/** Accounts momentry keeps for itself in the keychain (never listed, never given to callers). */
const PROBE_ACCOUNT = 'momentry-probe'
const INDEX_ACCOUNT = 'momentry-index'
/** An account name: printable, at most 200 characters, e.g. `gitea` or `api-key/billing`. */
export const accountSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^\p{Cc}]+$/u, 'must not contain control characters')
  .refine((a) => a !== PROBE_ACCOUNT && a !== INDEX_ACCOUNT, 'is reserved by momentry')

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
  private dirChecked?: Promise<void>

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
    return this.setSecret(service, JSON.stringify(storedCredentialSchema.parse(value)))
  }

  /** Remove stored credentials from the keychain and the file. Returns where something was removed. */
  async remove(service: Service): Promise<SecretSource[]> {
    return this.deleteSecret(service)
  }

  /** A stored secret and where it was found (keychain first), or undefined. */
  async getSecret(account: string): Promise<{ value: string; source: SecretSource } | undefined> {
    parseInput(accountSchema, account, 'account')
    if (this.mode !== 'file') {
      try {
        const raw = await this.keyring.get(account)
        if (raw) return { value: raw, source: 'keychain' }
      } catch {
        // Unreadable keychain: the file is where a save would have put it.
      }
    }
    const entry = (await this.readFile())[account]
    return entry === undefined ? undefined : { value: fromFileEntry(entry), source: 'file' }
  }

  /**
   * Store a secret under an account name: the keychain (service `momentry`), else the 0600
   * file, as MOMENTRY_CREDENTIAL_STORE says. Says once on the log when it falls back.
   */
  async setSecret(account: string, value: string): Promise<SaveResult> {
    parseInput(accountSchema, account, 'account')
    let keychainError: string | undefined
    if (this.mode !== 'file') {
      let stored = false
      try {
        await this.keyring.set(account, value)
        stored = true
      } catch (error) {
        keychainError = keychainReason(error)
        if (this.mode === 'keychain') {
          throw new ConfigError(`the OS keychain is not usable here (${keychainError})`, 'Unset MOMENTRY_CREDENTIAL_STORE (or set it to file) to use the 0600 file fallback')
        }
        this.noticeFallback(keychainError)
      }
      if (stored) {
        await this.updateIndex(account, 'add')
        // One place only: a stale file entry would confuse `auth status`. Outside the keychain's
        // try, so a bad file is reported as such, not as a keychain failure.
        await this.removeFromFile(account)
        return { store: 'keychain' }
      }
    }
    await this.writeFileEntry(account, toFileEntry(value))
    return { store: 'file', file: this.file, keychainError }
  }

  /** Remove a secret from the keychain and the file. Returns where something was removed. */
  async deleteSecret(account: string): Promise<SecretSource[]> {
    parseInput(accountSchema, account, 'account')
    const removed: SecretSource[] = []
    if (this.mode !== 'file') {
      try {
        if (await this.keyring.delete(account)) removed.push('keychain')
        await this.updateIndex(account, 'remove')
      } catch {
        // No usable keychain: nothing can be stored there either.
      }
    }
    if (await this.removeFromFile(account)) removed.push('file')
    return removed
  }

  /**
   * Every account momentry holds a secret for, and where — never the values. The keychain
   * cannot be enumerated portably, so momentry keeps the names it stored there in an index
   * entry of its own; the service accounts (gitea, n8n) are always looked up directly.
   */
  async listAccounts(): Promise<{ account: string; source: SecretSource }[]> {
    const out: { account: string; source: SecretSource }[] = []
    if (this.mode !== 'file') {
      try {
        const candidates = [...new Set([...SERVICES, ...(await this.readIndex())])]
        for (const account of candidates) if (await this.keyring.get(account)) out.push({ account, source: 'keychain' })
      } catch {
        // No usable keychain: nothing is stored there.
      }
    }
    for (const account of Object.keys(await this.readFile())) out.push({ account, source: 'file' })
    return out.sort((a, b) => a.account.localeCompare(b.account) || a.source.localeCompare(b.source))
  }

  /** Whether the keychain can store a value here (writes and deletes a probe entry). */
  async probeKeychain(): Promise<{ available: boolean; reason?: string }> {
    if (this.mode === 'file') return { available: false, reason: 'MOMENTRY_CREDENTIAL_STORE=file' }
    try {
      await this.keyring.set(PROBE_ACCOUNT, 'probe')
      await this.keyring.delete(PROBE_ACCOUNT)
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

  private async read(service: Service): Promise<{ value: StoredCredential; source: SecretSource } | undefined> {
    const secret = await this.getSecret(service)
    if (!secret) return undefined
    const parsed = storedCredentialSchema.safeParse(safeJson(secret.value))
    if (parsed.success) return { value: parsed.data, source: secret.source }
    if (secret.source === 'file') throw new ConfigError(`${this.file} is not a momentry credential file`, 'Remove it and run `momentry auth login gitea|n8n` again')
    // An unreadable keychain entry: the file is where login would have put them.
    const entry = (await this.readFile())[service]
    const fromFile = entry === undefined ? undefined : storedCredentialSchema.safeParse(safeJson(fromFileEntry(entry)))
    return fromFile?.success ? { value: fromFile.data, source: 'file' } : undefined
  }

  /** The names of the generic entries stored in the keychain (service accounts are not indexed). */
  private async readIndex(): Promise<string[]> {
    const parsed = z.array(z.string()).safeParse(safeJson((await this.keyring.get(INDEX_ACCOUNT)) ?? '[]'))
    return parsed.success ? parsed.data : []
  }

  private async updateIndex(account: string, change: 'add' | 'remove'): Promise<void> {
    if ((SERVICES as readonly string[]).includes(account)) return
    const index = new Set(await this.readIndex())
    if (change === 'add' ? index.has(account) : !index.has(account)) return
    if (change === 'add') index.add(account)
    else index.delete(account)
    if (index.size) await this.keyring.set(INDEX_ACCOUNT, JSON.stringify([...index].sort()))
    else await this.keyring.delete(INDEX_ACCOUNT)
  }

  /** The data directory checked (`secureDataDir`) once per store: reads of both services at once warn once. */
  private secureDir(create: boolean): Promise<void> {
    const check = create || !this.dirChecked ? secureDataDir(this.options.config.dataDir, { create, log: this.options.log }) : this.dirChecked
    this.dirChecked = check
    check.catch(() => {
      if (this.dirChecked === check) this.dirChecked = undefined
    })
    return check
  }

  private async readFile(): Promise<FileEntries> {
    await this.secureDir(false)
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

  private async writeFileEntry(account: string, entry: FileEntries[string] | undefined): Promise<void> {
    const entries = await this.readFile()
    if (entry !== undefined) entries[account] = entry
    else delete entries[account]
    await this.secureDir(true)
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

  private async removeFromFile(account: string): Promise<boolean> {
    const entries = await this.readFile()
    if (entries[account] === undefined) return false
    await this.writeFileEntry(account, undefined)
    return true
  }
}

/** Service credentials keep their object form in the file (readable as before); other secrets are strings. */
function toFileEntry(value: string): FileEntries[string] {
  const parsed = storedCredentialSchema.strict().safeParse(safeJson(value))
  return parsed.success ? parsed.data : value
}

function fromFileEntry(entry: FileEntries[string]): string {
  return typeof entry === 'string' ? entry : JSON.stringify(entry)
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
