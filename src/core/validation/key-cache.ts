import { LRUCache } from 'lru-cache'

import type { ValidationRecord } from '../api-keys/repo.js'
import type { Clock } from '../clock.js'
import { systemClock } from '../clock.js'

/**
 * Background re-reads (`refreshKey`) under way at once, at most: about twice the pool's
 * connections, so that a bulk change never queues many reads ahead of the requests' own.
 */
export const REFRESH_READS_MAX = 8

/** A cached lookup: the key's record, or a remembered miss (no such hash). */
export type CachedLookup = { record: ValidationRecord; /** The valid-result view, built on first success. */ view?: unknown } | { record: null }

export interface KeyCacheOptions {
  max: number
  ttlSeconds: number
  /** Misses are remembered more briefly: a new key must not wait long to be seen. */
  negativeTtlSeconds?: number
  /** Time for the TTLs; tests pass a fixed clock and advance it instead of sleeping. */
  clock?: Clock
  /** Fetch the record for a hash (base64) from the database; undefined when there is none. */
  load: (hash: string) => Promise<ValidationRecord | undefined>
}

/**
 * Validation cache keyed by the key's SHA-256 (never the raw key). Concurrent misses for
 * one hash share a single database lookup. Entries can be dropped by key id, which is what
 * invalidation messages carry — a rotated key's entry also by the ids of its successors, since
 * it names the live end of its rotation chain (`replacedBy`); an invalidation (or `clear`) that lands during a lookup makes
 * it read again, so a stale read can never be cached after the invalidation.
 *
 * Single-flight is a map of in-flight reads rather than lru-cache's `fetch`: that one builds
 * an AbortController and a chain of promises per miss, ~8 µs of CPU each, which was a
 * quarter of a cache miss's cost beyond the database round trip itself.
 */
export class KeyCache {
  private readonly cache: LRUCache<string, CachedLookup>
  private readonly hashesById = new Map<string, string>()
  /** Successor key id → hashes of cached rotated keys whose chain runs through it. */
  private readonly hashesBySuccessor = new Map<string, Set<string>>()
  private readonly inflight = new Map<string, Promise<CachedLookup | undefined>>()
  /** Background re-reads started by `refreshKey` and not yet done. */
  private refreshing = 0
  private readonly negativeTtlMs: number
  private epoch = 0
  hits = 0
  misses = 0

  constructor(private readonly options: KeyCacheOptions) {
    this.negativeTtlMs = Math.min(options.negativeTtlSeconds ?? 30, options.ttlSeconds) * 1000
    const clock = options.clock ?? systemClock
    // The clock is read on every TTL check (ttlResolution 0): lru-cache's default keeps the
    // time for a millisecond and arms a 1 ms timer to forget it, a timer a millisecond in a
    // busy process, which cost more than the read it saves. With the system clock the read is
    // lru-cache's own performance.now(); any other clock is read as itself, so advancing it
    // takes effect at once.
    const custom = clock !== systemClock
    this.cache = new LRUCache<string, CachedLookup>({
      max: options.max,
      ttl: options.ttlSeconds * 1000,
      ttlAutopurge: false,
      ttlResolution: 0,
      ...(custom ? { perf: { now: () => clock.ms() } } : {}),
      dispose: (value, hash) => {
        if (!value.record) return
        if (this.hashesById.get(value.record.keyId) === hash) this.hashesById.delete(value.record.keyId)
        for (const id of value.record.successors ?? []) {
          const set = this.hashesBySuccessor.get(id)
          set?.delete(hash)
          if (set?.size === 0) this.hashesBySuccessor.delete(id)
        }
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

  /**
   * The entry, loading it (once, however many callers wait) on a miss, or always with
   * `fresh`. Undefined when the key kept changing while it was read: the caller reads it uncached.
   */
  lookup(hash: string, options: { fresh?: boolean } = {}): Promise<CachedLookup | undefined> {
    const hit = this.peek(hash)
    // `fresh`: a found key is read again (the caller cannot trust what it remembers); a
    // remembered miss still counts.
    if (hit && !(options.fresh && hit.record)) return Promise.resolve(hit)
    this.misses++
    return this.reading(hash)
  }

  /** The read of `hash` under way, or a new one. */
  private reading(hash: string): Promise<CachedLookup | undefined> {
    let read = this.inflight.get(hash)
    if (!read) {
      read = this.read(hash).finally(() => this.inflight.delete(hash))
      this.inflight.set(hash, read)
    }
    return read
  }

  private async read(hash: string): Promise<CachedLookup | undefined> {
    // An invalidation that lands while we read may concern this very key (its id is
    // unknown until the read returns): read again so the newest state is cached.
    let epoch = this.epoch
    let record = await this.options.load(hash)
    if (epoch !== this.epoch) {
      epoch = this.epoch
      record = await this.options.load(hash)
    }
    if (epoch !== this.epoch) return undefined
    if (!record) {
      const miss = { record: null }
      this.cache.set(hash, miss, { ttl: this.negativeTtlMs })
      return miss
    }
    const entry = { record }
    this.cache.set(hash, entry) // may dispose an older entry of this key: map its id after
    this.hashesById.set(record.keyId, hash)
    for (const id of record.successors ?? []) {
      const set = this.hashesBySuccessor.get(id) ?? new Set<string>()
      set.add(hash)
      this.hashesBySuccessor.set(id, set)
    }
    return entry
  }

  /** Drop the key's entry (and those of rotated keys whose chain runs through it); the hashes dropped. */
  invalidateKey(keyId: string): string[] {
    this.epoch++
    const dropped: string[] = []
    const hash = this.hashesById.get(keyId)
    if (hash !== undefined && this.cache.delete(hash)) dropped.push(hash)
    this.hashesById.delete(keyId)
    // Rotated keys that name the end of a chain through this key name it no more, perhaps.
    for (const dependent of [...(this.hashesBySuccessor.get(keyId) ?? [])]) if (this.cache.delete(dependent)) dropped.push(dependent)
    this.hashesBySuccessor.delete(keyId)
    return dropped
  }

  /**
   * `invalidateKey`, then read what it dropped again at once, in the background: a key that
   * was in use is in use still, and the next request for it (often already on its way: a
   * revocation's NOTIFY arrives as the change commits) finds its new state, or joins the read
   * under way, instead of starting a read of its own then. A read that fails is left to the
   * next lookup, which reads again. While REFRESH_READS_MAX re-reads are already under way (a
   * bulk change: `rotate --due`, an import) a key is only dropped, so a burst of changes
   * never queues thousands of reads ahead of the requests' own.
   */
  refreshKey(keyId: string): void {
    for (const hash of this.invalidateKey(keyId)) {
      if (this.refreshing >= REFRESH_READS_MAX || this.inflight.has(hash)) continue
      this.refreshing++
      this.reading(hash)
        .catch(() => {})
        .finally(() => this.refreshing--)
    }
  }

  /** Forget everything, remembered misses included (e.g. after keys were created elsewhere). */
  clear(): void {
    this.epoch++
    this.cache.clear()
    this.hashesById.clear()
    this.hashesBySuccessor.clear()
  }

  get size(): number {
    return this.cache.size
  }
}
