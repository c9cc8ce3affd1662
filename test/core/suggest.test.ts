import { expect } from 'chai'
import fc from 'fast-check'

import { closest, editDistance } from '../../src/cli/suggest.js'

const word = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'd', '-', ':'), maxLength: 12 })

describe('editDistance and closest (typo suggestions)', () => {
  it('given known pairs, when measured, then insertions, deletions, substitutions and adjacent swaps count one each', () => {
    expect(editDistance('lst', 'list')).to.equal(1)
    expect(editDistance('api-keys:list', 'api-key:list')).to.equal(1)
    expect(editDistance('lsit', 'list')).to.equal(1)
    expect(editDistance('nme', 'name')).to.equal(1)
    expect(editDistance('kitten', 'sitting')).to.equal(3)
    expect(editDistance('', 'abc')).to.equal(3)
  })

  it('given any two strings, then the distance is zero exactly when they are equal, and symmetric', () => {
    fc.assert(
      fc.property(word, word, (a, b) => {
        const d = editDistance(a, b)
        return (d === 0) === (a === b) && d === editDistance(b, a)
      }),
    )
  })

  it('given any two strings, then the distance lies between their length difference and the longer length', () => {
    fc.assert(
      fc.property(word, word, (a, b) => {
        const d = editDistance(a, b)
        return d >= Math.abs(a.length - b.length) && d <= Math.max(a.length, b.length)
      }),
    )
  })

  it('given a string and one typo (insert, delete, substitute, swap neighbours), then the distance is at most one', () => {
    const typo = fc
      .tuple(word.filter((w) => w.length >= 2), fc.nat(), fc.constantFrom('a', 'x', 'z'), fc.constantFrom('insert', 'delete', 'substitute', 'swap'))
      .map(([w, at, c, kind]) => {
        const i = at % (w.length - 1)
        const typed =
          kind === 'insert' ? w.slice(0, i) + c + w.slice(i)
          : kind === 'delete' ? w.slice(0, i) + w.slice(i + 1)
          : kind === 'substitute' ? w.slice(0, i) + c + w.slice(i + 1)
          : w.slice(0, i) + w[i + 1] + w[i] + w.slice(i + 2)
        return [w, typed] as const
      })
    fc.assert(fc.property(typo, ([w, typed]) => editDistance(w, typed) <= 1))
  })

  it('given a string with a prefix added, then the distance is the prefix length (the triangle with the empty string)', () => {
    fc.assert(fc.property(word, word, (prefix, w) => editDistance(w, prefix + w) === prefix.length))
  })

  it('given candidates, when a typo is near one, then that one is suggested; far from all, nothing is', () => {
    const ids = ['api-key:list', 'api-key:show', 'api-key:create', 'doctor', 'config']
    expect(closest('api-key:lst', ids)).to.equal('api-key:list')
    expect(closest('doctr', ids)).to.equal('doctor')
    expect(closest('api-key:foo', ids)).to.equal(undefined)
    expect(closest('x', ids)).to.equal(undefined)
    expect(closest('config', ids)).to.equal(undefined)
  })
})
