import { expect } from 'chai'
import fc from 'fast-check'

import { countDrift, joinWithServer, rotatedName } from '../../src/core/integrations/tracked-credential.js'

const AT = new Date('2026-11-22T03:14:00.123Z')
const STAMP = '-rot-20261122T031400Z'
/** Gitea's limit on a token name and n8n's on a key label. */
const LIMITS = [255, 50]

const instant = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2999-12-31T23:59:59Z'), noInvalidDate: true })
const limit = fc.constantFrom(...LIMITS)
/** Names as users type them, now and then already carrying a rotation suffix. */
const name = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 300 }),
  fc.tuple(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 260 }), instant).map(([base, at]) => rotatedName(base, at, 300)),
)
const isWellFormed = (s: string) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s)

describe('tracked credentials: rotation names', () => {
  it('given a name, when it is rotated, then the stamp of the rotation time is appended', () => {
    expect(rotatedName('ci-bot', AT, 255)).to.equal(`ci-bot${STAMP}`)
  })

  it('given a name that was rotated before, when it is rotated again, then its suffix is replaced, not stacked', () => {
    expect(rotatedName('ci-bot-rot-20250101T000000Z', AT, 255)).to.equal(`ci-bot${STAMP}`)
  })

  it('given any name and time, when it is rotated, then the result fits the server’s limit (Gitea 255, n8n 50)', () => {
    fc.assert(fc.property(name, instant, limit, (n, at, max) => rotatedName(n, at, max).length <= max))
  })

  it('given any name, when it is rotated twice, then the result is what one rotation at the later time gives', () => {
    fc.assert(fc.property(name, instant, instant, limit, (n, first, second, max) => rotatedName(rotatedName(n, first, max), second, max) === rotatedName(n, second, max)))
  })

  it('given any name, when it is rotated, then what precedes the suffix is the start of the name without its old suffix', () => {
    fc.assert(
      fc.property(name, instant, limit, (n, at, max) => {
        const result = rotatedName(n, at, max)
        return result.endsWith(rotatedName('', at, max)) && n.replace(/-rot-\d{8}T\d{6}Z$/, '').startsWith(result.slice(0, -STAMP.length))
      }),
    )
  })

  it('given a name of characters outside the BMP, when it is cut to fit, then no surrogate pair is split', () => {
    fc.assert(fc.property(name, instant, limit, (n, at, max) => isWellFormed(rotatedName(n, at, max))))
    expect(rotatedName('😀'.repeat(20), AT, 50)).to.equal(`${'😀'.repeat(14)}${STAMP}`)
  })
})

describe('tracked credentials: joining records with the server’s list', () => {
  const ids = fc.uniqueArray(fc.integer({ min: 1, max: 60 }), { maxLength: 30 })

  it('given any records and server list, when joined, then every id appears exactly once, records first', () => {
    fc.assert(
      fc.property(ids, ids, (local, remote) => {
        const joined = joinWithServer(local, remote, { local: (l) => l, remote: (r) => r })
        const seen = joined.map((j) => j.local ?? j.remote)
        const expected = [...local, ...remote.filter((r) => !local.includes(r))]
        return JSON.stringify(seen) === JSON.stringify(expected)
      }),
    )
  })

  it('given any records and server list, when joined, then gone is tracked-not-listed and untracked is listed-not-tracked', () => {
    fc.assert(
      fc.property(ids, ids, (local, remote) => {
        const joined = joinWithServer(local, remote, { local: (l) => l, remote: (r) => r })
        return (
          joined.every((j) => (j.drift === 'gone') === (j.local !== undefined && !remote.includes(j.local))) &&
          joined.every((j) => (j.drift === 'untracked') === (j.local === undefined)) &&
          countDrift(joined).gone === local.filter((l) => !remote.includes(l)).length
        )
      }),
    )
  })

  it('given records whose absence proves nothing (another user’s, a partial list), when joined, then they get no verdict', () => {
    const joined = joinWithServer([1, 2, 3], [1], { local: (l) => l, remote: (r) => r }, (l) => l !== 2)
    expect(joined.map((j) => [j.local, j.onServer, j.drift])).to.deep.equal([
      [1, true, null],
      [2, null, null],
      [3, false, 'gone'],
    ])
  })
})
