import { LRUCache } from 'lru-cache'

import type { ValidationRecord } from '../api-keys/repo.js'

/** A cached lookup: the key's record, or a remembered miss (no such hash). */
export type CachedLookup = { record: ValidationRecord; /** The valid-result view, built on first success. */ view?: unknown } | { record: null }

export interface KeyCacheOptions {
  max: number
  ttlSeconds: number
  /** Misses are remembered more briefly: a new key must not wait long to be seen. */
  negativeTtlSeconds?: number
  /** Fetch the record for a hash (base64) from the database; undefined when there is none. */
  load: (hash: string) => Promise<ValidationRecord | undefined>
}

/**
 * Validation cache keyed by the key's SHA-256 (never the raw key). Concurrent misses for
 * one hash share a single database lookup (lru-cache `fetch`). Entries can be dropped by
 * key id, which is what invalidation messages carry; a drop during an in-flight lookup
 * aborts it, so a stale read can never land after the invalidation.
 */
export class KeyCache {
  private readonly cache: LRUCache<string, CachedLookup>
  private readonly hashesById = new Map<string, string>()
  private epoch = 0
  hits = 0
  misses = 0

  constructor(options: KeyCacheOptions) {
    const negativeTtlMs = Math.min(options.negativeTtlSeconds ?? 30, options.ttlSeconds) * 1000
    this.cache = new LRUCache<string, CachedLookup>({
      max: options.max,
      ttl: options.ttlSeconds * 1000,
      ttlAutopurge: false,
      fetchMethod: async (hash, _stale, { options: entry, signal }) => {
        // An invalidation that lands while we read may concern this very key (its id is
        // unknown until the read returns): read again so the newest state is cached.
        let epoch = this.epoch
        let record = await options.load(hash)
        if (epoch !== this.epoch) {
          epoch = this.epoch
          record = await options.load(hash)
        }
        if (signal.aborted || epoch !== this.epoch) return undefined
        if (!record) {
          entry.ttl = negativeTtlMs
          return { record: null }
        }
        this.hashesById.set(record.keyId, hash)
        return { record }
      },
      dispose: (value, hash) => {
        if (value.record && this.hashesById.get(value.record.keyId) === hash) this.hashesById.delete(value.record.keyId)
      },
    })
  }

  /** The cached entry without any I/O, or undefined; counted as a hit when found. */
  peek(hash: string): CachedLookup | undefined {
    const hit = this.cache.get(hash)
    if (hit) this.hits++
    return hit
  }

  /** `peek` without counting: for a caller that counts the hit only once it decided (`countHit`). */
  find(hash: string): CachedLookup | undefined {
    return this.cache.get(hash)
  }

  countHit(): void {
    this.hits++
  }

  /** The entry, loading it (once, however many callers wait) on a miss. */
  async lookup(hash: string): Promise<CachedLookup | undefined> {
    const hit = this.peek(hash)
    if (hit) return hit
    this.misses++
    return this.cache.fetch(hash)
  }

  invalidateKey(keyId: string): void {
    this.epoch++
    const hash = this.hashesById.get(keyId)
    if (hash !== undefined) this.cache.delete(hash)
    this.hashesById.delete(keyId)
  }

  /** Forget every remembered miss (e.g. after keys were created elsewhere). */
  clear(): void {
    this.cache.clear()
    this.hashesById.clear()
  }

  get size(): number {
    return this.cache.size
  }
}
