/**
 * The OS keychain as momentry uses it: one entry per service under the keychain service
 * `momentry`. Injectable so tests can prove the keychain path with an in-memory backend.
 */
export interface KeyringBackend {
  get(account: string): Promise<string | null>
  set(account: string, value: string): Promise<void>
  /** True when something was deleted. */
  delete(account: string): Promise<boolean>
  /** The accounts held under the service (names only), where the keychain can enumerate them. */
  list?(): Promise<string[]>
}

export const KEYCHAIN_SERVICE = 'momentry'

/**
 * The real keychain via @napi-rs/keyring, loaded only when first needed (it is native).
 * On Linux it is pinned to the Secret Service (gnome-keyring, KWallet, KeePassXC): the
 * binding's silent fallback, the kernel keyutils keyring, lives in kernel memory per login
 * session and expires — seen here, a `login` "stored" there was gone for the next command.
 * Without a Secret Service the store falls back to the 0600 file, as it says.
 */
export function napiKeyring(): KeyringBackend {
  const entry = async (account: string) => {
    const { Entry } = await import('@napi-rs/keyring')
    return new Entry(KEYCHAIN_SERVICE, account, { linux: { store: 'secret-service' } })
  }
  return {
    get: async (account) => (await entry(account)).getPassword() ?? null,
    set: async (account, value) => (await entry(account)).setPassword(value),
    delete: async (account) => (await entry(account)).deletePassword(),
    list: async () => {
      const { findCredentialsAsync } = await import('@napi-rs/keyring')
      return (await findCredentialsAsync(KEYCHAIN_SERVICE)).map((c) => c.account)
    },
  }
}

/** A keychain kept in memory, for tests and embedding. */
export function memoryKeyring(): KeyringBackend & { entries: Map<string, string> } {
  const entries = new Map<string, string>()
  return {
    entries,
    get: async (a) => entries.get(a) ?? null,
    set: async (a, v) => void entries.set(a, v),
    delete: async (a) => entries.delete(a),
    list: async () => [...entries.keys()],
  }
}

/**
 * The keychain's own error, reduced to its first line: the native module appends a Rust
 * backtrace that must never reach a user's terminal.
 */
export function keychainReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  if (/dbus/i.test(message)) return 'no Secret Service reachable over D-Bus'
  const first = message.split('\n')[0]!.replace(/\s*(stack backtrace|Backtrace).*$/i, '').trim()
  return first.slice(0, 120) || 'unknown error'
}
