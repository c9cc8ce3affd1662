import { expect } from 'chai'
import fc from 'fast-check'

import type { ValidationRecord } from '../../src/core/api-keys/repo.js'
import { KeyCache, REFRESH_READS_MAX } from '../../src/core/validation/key-cache.js'
import { fixedClock } from '../../src/core/clock.js'

// The cache's own rules, against a loader the test controls (the database read behind it is
// covered by the verifyKey and serve tests on real PostgreSQL).

const record = (keyId: string, name = keyId): ValidationRecord => ({
  keyId,
  name,
  type: 'service',
  scopes: [],
  owner: null,
  enabled: true,
  expiresAt: null,
  graceExpiresAt: null,
  revokedAt: null,
  replacedBy: null,
})

/** A loader whose reads wait until the test releases them, counting every read. */
function gatedLoader(rows: Map<string, ValidationRecord>) {
  const waiting: Array<() => void> = []
  const loader = {
    reads: 0,
    gated: false,
    load: async (hash: string): Promise<ValidationRecord | undefined> => {
      loader.reads++
      if (loader.gated) await new Promise<void>((resolve) => waiting.push(resolve))
      return rows.get(hash)
    },
    /** Let every read waiting so far finish, and give their continuations a turn. */
    release: async () => {
      for (const resolve of waiting.splice(0)) resolve()
      await new Promise((r) => setImmediate(r))
    },
  }
  return loader
}

const tick = () => new Promise((r) => setImmediate(r))

/** A cache holding key_1 as "before", whose row has since become "after" (one read made). */
async function cachedThenRenamed() {
  const rows = new Map([['h1', record('key_1', 'before')]])
  const loader = gatedLoader(rows)
  const cache = new KeyCache({ max: 100, ttlSeconds: 60, load: loader.load })
  await cache.lookup('h1')
  rows.set('h1', record('key_1', 'after'))
  return { loader, cache }
}

describe('KeyCache', () => {
  it('given 50 concurrent misses for one hash, when they resolve, then one read was made, all got the same entry, and 50 misses were counted', async () => {
    const loader = gatedLoader(new Map([['h1', record('key_1')]]))
    loader.gated = true
    const cache = new KeyCache({ max: 100, ttlSeconds: 60, load: loader.load })
    const pending = Array.from({ length: 50 }, () => cache.lookup('h1'))
    await tick()
    await loader.release()
    const entries = await Promise.all(pending)
    expect(loader.reads).to.equal(1)
    expect(new Set(entries).size).to.equal(1)
    expect(entries[0]!.record!.keyId).to.equal('key_1')
    expect(cache.misses).to.equal(50)
    expect(cache.peek('h1')).to.equal(entries[0])
    expect(cache.hits).to.equal(1)
  })

  it('given a hash with no key, when looked up twice, then the miss is remembered; after the negative TTL it is read again', async () => {
    const rows = new Map<string, ValidationRecord>()
    const loader = gatedLoader(rows)
    const clock = fixedClock('2026-11-01T00:00:00Z')
    const cache = new KeyCache({ max: 100, ttlSeconds: 60, negativeTtlSeconds: 0.05, clock, load: loader.load })
    expect(await cache.lookup('nope')).to.deep.equal({ record: null })
    expect(await cache.lookup('nope')).to.deep.equal({ record: null })
    expect(loader.reads).to.equal(1)
    rows.set('nope', record('key_new'))
    clock.advance(80)
    expect((await cache.lookup('nope'))!.record!.keyId).to.equal('key_new')
    expect(loader.reads).to.equal(2)
  })

  it('given an invalidation landing during a read, when the read returns, then the key is read again and the second answer is the one cached', async () => {
    const rows = new Map([['h1', record('key_1', 'before')]])
    const loader = gatedLoader(rows)
    loader.gated = true
    const cache = new KeyCache({ max: 100, ttlSeconds: 60, load: loader.load })
    const pending = cache.lookup('h1')
    await tick()
    rows.set('h1', record('key_1', 'after'))
    cache.invalidateKey('key_1')
    await loader.release() // first read returns "before", sees the invalidation, reads again
    await loader.release()
    const entry = await pending
    expect(loader.reads).to.equal(2)
    expect(entry!.record!.name).to.equal('after')
    expect(cache.peek('h1')!.record!.name).to.equal('after')
  })

  it('given invalidations landing during both reads, when they return, then nothing is cached and the caller is told to read uncached (undefined)', async () => {
    const loader = gatedLoader(new Map([['h1', record('key_1')]]))
    loader.gated = true
    const cache = new KeyCache({ max: 100, ttlSeconds: 60, load: loader.load })
    const pending = cache.lookup('h1')
    await tick()
    cache.invalidateKey('key_x')
    await loader.release()
    cache.clear()
    await loader.release()
    expect(await pending).to.equal(undefined)
    expect(cache.size).to.equal(0)
    loader.gated = false
    expect((await cache.lookup('h1'))!.record!.keyId).to.equal('key_1')
    expect(loader.reads).to.equal(3)
  })

  it('given a cached key, when invalidated by id, then the next lookup reads it again', async () => {
    const loader = gatedLoader(new Map([['h1', record('key_1')]]))
    const cache = new KeyCache({ max: 100, ttlSeconds: 60, load: loader.load })
    await cache.lookup('h1')
    cache.invalidateKey('key_1')
    expect(cache.peek('h1')).to.equal(undefined)
    await cache.lookup('h1')
    expect(loader.reads).to.equal(2)
  })

  it('given a cached key, when refreshed by id, then its new state is read once at once and the next lookup finds it without a read or a miss', async () => {
    const { loader, cache } = await cachedThenRenamed()
    cache.refreshKey('key_1')
    expect(cache.find('h1')).to.equal(undefined) // the old state is gone at once
    await tick()
    expect(loader.reads).to.equal(2)
    expect((await cache.lookup('h1'))!.record!.name).to.equal('after')
    expect(loader.reads).to.equal(2)
    expect(cache.misses).to.equal(1) // the first lookup's; the refresh is not a caller's miss
  })

  it('given a refresh under way, when the key is looked up, then the lookup joins the refresh: one read, the new state', async () => {
    const { loader, cache } = await cachedThenRenamed()
    loader.gated = true
    cache.refreshKey('key_1')
    expect(loader.reads).to.equal(2) // the refresh's read, before anyone asked
    const pending = cache.lookup('h1')
    await loader.release()
    expect((await pending)!.record!.name).to.equal('after')
    expect(loader.reads).to.equal(2)
  })

  it('given a bulk change of more cached keys than REFRESH_READS_MAX, when refreshed, then only that many are read at once, every old state is gone, and the rest are read on their next lookup', async () => {
    const n = REFRESH_READS_MAX + 20
    const rows = new Map(Array.from({ length: n }, (_, i) => [`h${i}`, record(`key_${i}`, 'before')] as const))
    const loader = gatedLoader(rows)
    const cache = new KeyCache({ max: 1000, ttlSeconds: 60, load: loader.load })
    for (let i = 0; i < n; i++) await cache.lookup(`h${i}`)
    for (let i = 0; i < n; i++) rows.set(`h${i}`, record(`key_${i}`, 'after'))
    loader.gated = true
    for (let i = 0; i < n; i++) cache.refreshKey(`key_${i}`)
    expect(loader.reads).to.equal(n + REFRESH_READS_MAX)
    for (let i = 0; i < n; i++) expect(cache.find(`h${i}`)).to.equal(undefined)
    loader.gated = false
    await loader.release()
    for (let i = 0; i < n; i++) expect((await cache.lookup(`h${i}`))!.record!.name).to.equal('after')
  })

  it('given a key that was not cached, when refreshed, then nothing is read', async () => {
    const loader = gatedLoader(new Map([['h1', record('key_1')]]))
    const cache = new KeyCache({ max: 100, ttlSeconds: 60, load: loader.load })
    cache.refreshKey('key_1')
    await tick()
    expect(loader.reads).to.equal(0)
  })

  it('given a refresh whose read fails, then nothing is cached, no rejection goes unhandled, and the next lookup reads again', async () => {
    let fail = false
    let reads = 0
    const cache = new KeyCache({
      max: 100,
      ttlSeconds: 60,
      load: async () => {
        reads++
        if (fail) throw new Error('connection reset')
        return record('key_1')
      },
    })
    const unhandled: unknown[] = []
    const onUnhandled = (e: unknown) => unhandled.push(e)
    process.on('unhandledRejection', onUnhandled)
    try {
      await cache.lookup('h1')
      fail = true
      cache.refreshKey('key_1')
      await tick()
      await tick()
      expect(cache.find('h1')).to.equal(undefined)
      fail = false
      expect((await cache.lookup('h1'))!.record!.keyId).to.equal('key_1')
      expect(reads).to.equal(3)
      expect(unhandled).to.deep.equal([])
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })

  it('given any sequence of lookups, invalidations, refreshes and evictions, then a cached entry always holds what the loader last said for its hash, and invalidating or refreshing a key always drops its old state at once', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('lookup' as const), h: fc.integer({ min: 0, max: 5 }) }),
      fc.record({ kind: fc.constant('rename' as const), h: fc.integer({ min: 0, max: 5 }), name: fc.string({ maxLength: 3 }) }),
      fc.record({ kind: fc.constant('refresh' as const), h: fc.integer({ min: 0, max: 5 }), name: fc.string({ maxLength: 3 }) }),
    )
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
        const rows = new Map(Array.from({ length: 6 }, (_, i) => [`h${i}`, record(`key_${i}`, 'n')] as const))
        const loader = gatedLoader(rows)
        const cache = new KeyCache({ max: 3, ttlSeconds: 60, load: loader.load })
        for (const o of ops) {
          if (o.kind === 'lookup') {
            const entry = await cache.lookup(`h${o.h}`)
            expect(entry!.record!.name).to.equal(rows.get(`h${o.h}`)!.name)
          } else {
            // A change in the database is always followed by its invalidation, as in momentry.
            rows.set(`h${o.h}`, record(`key_${o.h}`, o.name))
            if (o.kind === 'rename') cache.invalidateKey(`key_${o.h}`)
            else cache.refreshKey(`key_${o.h}`)
            expect(cache.find(`h${o.h}`)).to.equal(undefined)
            if (o.kind === 'refresh') await tick()
          }
          for (let h = 0; h < 6; h++) {
            const cached = cache.find(`h${h}`)
            if (cached) expect(cached.record!.name).to.equal(rows.get(`h${h}`)!.name)
          }
          expect(cache.size).to.be.at.most(3)
        }
      }),
      { numRuns: 200 },
    )
  })
})
