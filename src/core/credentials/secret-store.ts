import { randomBytes } from 'node:crypto'
import { link, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

import type { Config } from '../config.js'
import { secureDataDir } from '../data-dir.js'
import { ConfigError } from '../errors.js'
import type { Logger } from '../log.js'
import type { KeyringBackend } from './keyring.js'
import { keychainReason, napiKeyring } from './keyring.js'

/**
 * Secrets momentry makes for itself (the audit keys, the checkpoint signing key): one
 * account each in the OS keychain under the service `momentry`, or — with no usable keychain,
 * or MOMENTRY_CREDENTIAL_STORE=file — one 0600 file each in `<data dir>/secrets/` (0700).
 * Unlike login credentials they are created by momentry, so creation is atomic: two processes
 * creating the same secret at once end up with one value, never two.
 */
export interface SecretStore {
  /** Where secrets are kept, for messages ("the OS keychain", "/var/lib/momentry/secrets"). */
  describe(): Promise<string>
  get(account: string): Promise<string | undefined>
  /** Store `value` unless the account exists; returns the value that is stored now. */
  create(account: string, value: string): Promise<string>
  /** Replace the value (under `withLock`, for read-modify-write). */
  set(account: string, value: string): Promise<void>
  /** Account names held (never values). */
  list(): Promise<Array<{ account: string; store: 'keychain' | 'file' }>>
  /** Run `fn` holding the store's lock: read-modify-write of one account by one process at a time. */
  withLock<T>(fn: () => Promise<T>): Promise<T>
}

export interface SecretStoreOptions {
  config: Pick<Config, 'dataDir' | 'credentialStore'>
  keyring?: KeyringBackend
  log: Logger
}

const ACCOUNT = /^[a-z0-9][a-z0-9._/-]{0,127}$/

export function openSecretStore(options: SecretStoreOptions): SecretStore {
  const dir = join(options.config.dataDir, 'secrets')
  const keyring = options.keyring ?? napiKeyring()
  const fileName = (account: string) => join(dir, `${account.replaceAll('/', '%2F')}.secret`)
  let backend: Promise<'keychain' | 'file'> | undefined

  const check = (account: string) => {
    if (!ACCOUNT.test(account)) throw new Error(`bad secret account name ${account}`)
  }
  /** The keychain when it works here (probed once), else the file; `keychain` mode never falls back. */
  const chosen = () =>
    (backend ??= (async () => {
      if (options.config.credentialStore === 'file') return 'file'
      try {
        await keyring.set('momentry-probe', 'probe')
        await keyring.delete('momentry-probe')
        return 'keychain'
      } catch (error) {
        const reason = keychainReason(error)
        if (options.config.credentialStore === 'keychain') {
          throw new ConfigError(`the OS keychain is not usable here (${reason})`, 'Unset MOMENTRY_CREDENTIAL_STORE (or set it to file) to use 0600 files in the data directory')
        }
        return 'file'
      }
    })())

  const readSecretFile = async (account: string): Promise<string | undefined> => {
    await secureDataDir(options.config.dataDir, { create: false, log: options.log })
    try {
      return (await readFile(fileName(account), 'utf8')).trim()
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw new ConfigError(`cannot read ${fileName(account)} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, 'Check its owner and permissions')
    }
  }
  /** A complete 0600 temporary file, then link (create: fails if present) or rename (set). */
  const writeSecretFile = async (account: string, value: string, exclusive: boolean): Promise<boolean> => {
    await secureDataDir(options.config.dataDir, { create: true, log: options.log })
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const tmp = join(dir, `.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
    await writeFile(tmp, `${value}\n`, { mode: 0o600, flag: 'wx' })
    try {
      if (exclusive) {
        try {
          await link(tmp, fileName(account))
          return true
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
          throw error
        }
      }
      await rename(tmp, fileName(account))
      return true
    } finally {
      await rm(tmp, { force: true })
    }
  }

  const store: SecretStore = {
    async describe() {
      return (await chosen()) === 'keychain' ? 'the OS keychain (service momentry)' : dir
    },
    async get(account) {
      check(account)
      if ((await chosen()) === 'keychain') return (await keyring.get(account)) ?? undefined
      return readSecretFile(account)
    },
    async create(account, value) {
      check(account)
      if ((await chosen()) === 'keychain') {
        return store.withLock(async () => {
          const existing = await keyring.get(account)
          if (existing) return existing
          await keyring.set(account, value)
          return value
        })
      }
      if (await writeSecretFile(account, value, true)) return value
      return (await readSecretFile(account))!
    },
    async set(account, value) {
      check(account)
      if ((await chosen()) === 'keychain') await keyring.set(account, value)
      else await writeSecretFile(account, value, false)
    },
    async list() {
      if ((await chosen()) === 'keychain') {
        if (!keyring.list) return []
        return (await keyring.list()).filter((a) => a !== 'momentry-probe').map((account) => ({ account, store: 'keychain' as const }))
      }
      const names = await readdir(dir).catch(() => [] as string[])
      return names.filter((n) => n.endsWith('.secret')).map((n) => ({ account: n.slice(0, -'.secret'.length).replaceAll('%2F', '/'), store: 'file' as const }))
    },
    async withLock(fn) {
      await secureDataDir(options.config.dataDir, { create: true, log: options.log })
      await mkdir(dir, { recursive: true, mode: 0o700 })
      const lock = join(dir, '.lock')
      const deadline = Date.now() + 10_000
      for (;;) {
        try {
          await (await open(lock, 'wx', 0o600)).close()
          break
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
          // A holder that died leaves its lock: after 30 s nobody is still doing a read-modify-write.
          const age = Date.now() - ((await stat(lock).catch(() => undefined))?.mtimeMs ?? Date.now())
          if (age > 30_000) await rm(lock, { force: true })
          else if (Date.now() > deadline) throw new ConfigError(`${lock} is held by another momentry process`, 'Try again in a moment; remove the file if no momentry process is running')
          else await new Promise((r) => setTimeout(r, 25))
        }
      }
      try {
        return await fn()
      } finally {
        await rm(lock, { force: true })
      }
    },
  }
  return store
}
