import { expect } from 'chai'
import fc from 'fast-check'

import { inertJson } from '../../src/ui/html/escape.js'
import { inventoryHtmlData, renderInventoryHtml } from '../../src/ui/html/inventory-html.js'
import { renderSecurityHtml, securityHtmlData } from '../../src/ui/html/security-html.js'
import { niceScale, stackedBars, stackedColumns } from '../../src/ui/html/svg-charts.js'
import { USAGE_KEY_COLUMNS, renderUsageHtml, usageHtmlData } from '../../src/ui/html/usage-html.js'
import { BROKEN, HOSTILE, SUMMARY, bigUsageFixture, inventoryFixture, securityFixture, usageFixture } from './html-fixtures.js'

/** The markup of `<section … id="ID">` up to its end (sections do not nest). */
function section(html: string, id: string): string {
  const start = html.search(new RegExp(`<section class="[a-z-]+" id="${id}">`))
  expect(start, `section #${id}`).to.be.greaterThan(-1)
  return html.slice(start, html.indexOf('</section>', start))
}

/** The `<svg>` whose title/desc ids start with `id`. */
function svg(html: string, id: string): string {
  const start = html.indexOf(`<svg class="chart" id="${id}" role="img" aria-labelledby="${id}-title ${id}-desc"`)
  expect(start, `svg ${id}`).to.be.greaterThan(-1)
  return html.slice(start, html.indexOf('</svg>', start))
}

/** Every drawn data mark: its series, category and value. */
const bars = (markup: string) => [...markup.matchAll(/<rect class="bar" data-series="([^"]*)" data-category="([^"]*)" data-value="(\d+)"/g)].map((m) => ({ series: m[1]!, category: m[2]!, value: Number(m[3]) }))
const total = (marks: { value: number }[]) => marks.reduce((n, m) => n + m.value, 0)

function embedded(html: string): any {
  const m = /<script type="application\/json" id="report-data">([^<]*)<\/script>/.exec(html)
  expect(m, 'the report-data script').to.not.equal(null)
  return JSON.parse(m![1]!)
}

/** What every report page must be: one self-contained file, nothing fetched, nothing run, every chart and table described. */
function expectSelfContained(html: string): void {
  expect(html.startsWith('<!doctype html>\n<html lang="en">')).to.equal(true)
  expect(html).to.include('<meta charset="utf-8">').and.include('<meta name="viewport"').and.include('<link rel="icon" href="data:,">')
  expect(html).to.include(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`)
  expect(html).to.include('@media print')
  // One script element, the inert JSON one; no handler attribute, no javascript: URL.
  expect(html.match(/<script/gi)).to.have.length(1)
  expect(html.match(/<\/script/gi)).to.have.length(1)
  // Text escapes every <, so each < left is a tag: no handler attribute, nothing to fetch (every
  // src/href is a data: URL or a fragment of the page), no javascript: URL.
  const tags = html.match(/<[a-zA-Z][^>]*>/g)!
  for (const tag of tags) {
    expect(tag).to.not.match(/\son[a-z]+=/i)
    expect(tag).to.not.match(/javascript:/i)
    for (const m of tag.matchAll(/\s(?:src|href|xlink:href|srcset|action|poster|data|formaction)=("[^"]*"|'[^']*'|[^\s>]+)/gi)) expect(m[1]!.replace(/^["']/, ''), tag).to.match(/^(data:|#)/)
  }
  for (const m of html.matchAll(/url\(([^)]*)\)/g)) expect(m[1]).to.match(/^#/)
  expect(html).to.not.match(/@import|@font-face/)
  // Every chart is an image with a text alternative; every table has a caption and scoped headers.
  const svgs = html.match(/<svg[^>]*>/g) ?? []
  expect(svgs.length).to.be.greaterThan(0)
  for (const tag of svgs) {
    expect(tag).to.include('role="img"')
    const [, titleId, descId] = /aria-labelledby="(\S+) (\S+)"/.exec(tag)!
    expect(html).to.include(`<title id="${titleId}">`).and.include(`<desc id="${descId}">`)
  }
  expect((html.match(/<table>/g) ?? []).length).to.equal((html.match(/<table><caption>/g) ?? []).length)
  expect(html.match(/<th(?![^>]*scope=")[ >]/g)).to.equal(null)
  expect(html.match(/<section class="chart-block"[^]*?<\/section>/g)?.every((s) => s.includes('<figure>') && s.includes('<table>') && s.includes('<figcaption>'))).to.equal(true)
}

describe('HTML reports (pure rendering)', () => {
  describe('svg charts', () => {
    it('given any positive maximum, when a scale is made, then its steps are 1, 2 or 5 × 10^k, whole, from 0 to at or above the maximum in at most 11 ticks', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 2_000_000_000 }), (max) => {
          const { top, step, ticks } = niceScale(max)
          const mantissa = step / 10 ** Math.floor(Math.log10(step))
          expect([1, 2, 5]).to.include(mantissa)
          expect(Number.isInteger(step)).to.equal(true)
          expect(top).to.be.at.least(max)
          expect(top - step).to.be.lessThan(max)
          expect(ticks[0]).to.equal(0)
          expect(ticks[ticks.length - 1]).to.equal(top)
          expect(ticks.length).to.be.within(2, 11)
        }),
      )
      expect(niceScale(0)).to.deep.equal({ top: 1, step: 1, ticks: [0, 1] })
      expect(niceScale(29).ticks).to.deep.equal([0, 10, 20, 30])
      expect(niceScale(1234).ticks).to.deep.equal([0, 500, 1000, 1500])
    })

    it('given values with zeros, then each non-zero value is one rect.bar with its series, category, value and a title; zeros draw nothing', () => {
      const spec = {
        id: 'c',
        title: 'T',
        desc: 'D',
        categories: [
          { key: 'a', label: 'A' },
          { key: 'b', label: 'B' },
        ],
        series: [
          { key: 'ok', label: 'ok' },
          { key: 'failed', label: 'failed' },
        ],
        values: [
          [3, 0],
          [0, 7],
        ],
        unit: 'things',
      }
      for (const draw of [stackedColumns, stackedBars]) {
        const out = draw(spec)
        expect(bars(out)).to.deep.equal([
          { series: 'ok', category: 'a', value: 3 },
          { series: 'failed', category: 'b', value: 7 },
        ])
        expect(out).to.include('<title>A — ok: 3 things</title>').and.include('<title>B — failed: 7 things</title>')
        // The second series is hatched (told apart in grey), and there is a legend.
        expect(out).to.include('<pattern id="c-p1"').and.include('fill="url(#c-p1)"').and.include('class="legend"')
      }
    })

    it('given a category named with markup, quotes and ampersands, then every label, title and attribute is escaped', () => {
      const out = stackedBars({ id: 'x', title: HOSTILE[0]!, desc: HOSTILE[1]!, categories: HOSTILE.map((h) => ({ key: h, label: h })), series: [{ key: `s"&<`, label: HOSTILE[2]! }], values: [HOSTILE.map(() => 1)], unit: '<u>' })
      expect(out).to.not.match(/<(script|img|!--|u>)/)
      expect(out).to.include('&lt;script&gt;alert(1)&lt;/script&gt;').and.include('data-series="s&quot;&amp;&lt;"').and.include('quote&quot;s &amp; &#39;apostrophes&#39;')
      expect(bars(out).map((b) => b.category)).to.deep.equal(HOSTILE.map((h) => h.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)))
    })
  })

  describe('usage', () => {
    const r = usageFixture()
    const html = renderUsageHtml(r, SUMMARY)

    it('given a usage report, then the page is self-contained, scriptless, described, and opens with the summary and the audit verdict', () => {
      expectSelfContained(html)
      expect(html.indexOf('id="summary"')).to.be.lessThan(html.indexOf('id="validations-per-day"'))
      expect(html).to.include('<p class="audit ok" data-summary="audit-status" data-status="ok"><strong>✔ Audit chain intact</strong>: 57 rows verified, head at seq 57.</p>')
      for (const [id, value] of Object.entries({ 'keys-total': 6, 'keys-active': 4, 'keys-revoked': 1, 'rotation-overdue': 2, 'open-anomalies': 4, validations: 29, ok: 22, failed: 7, 'keys-used': 5, 'keys-never-used': 2 })) {
        expect(html).to.include(`data-summary="${id}">${value}</dd>`)
      }
    })

    it('given the fixture, then each chart draws exactly one bar per non-zero number and the bars add up to the report', () => {
      const perDay = bars(section(html, 'validations-per-day'))
      expect(perDay).to.have.length(6)
      expect(total(perDay.filter((b) => b.series === 'ok'))).to.equal(22)
      expect(total(perDay.filter((b) => b.series === 'failed'))).to.equal(7)
      expect(perDay.filter((b) => b.category === '2031-03-02').map((b) => [b.series, b.value])).to.deep.equal([
        ['ok', 4],
        ['failed', 4],
      ])
      const top = bars(section(html, 'top-keys'))
      expect(top).to.have.length(8)
      expect(new Set(top.map((b) => b.category)).size).to.equal(5)
      expect(total(top)).to.equal(29)
      expect(bars(svg(html, 'age-chart')).map((b) => [b.category, b.value])).to.deep.equal([
        ['&lt; 7 days', 1],
        ['30–90 days', 4],
        ['&gt; 1 year', 1],
      ])
      expect(bars(svg(html, 'expiry-chart')).map((b) => [b.category, b.value])).to.deep.equal([
        ['expired', 1],
        ['≤ 7 days', 1],
        ['31–90 days', 1],
        ['never', 3],
      ])
      expect(html).to.not.include('<circle class="point"')
    })

    it('given hostile key names, then no name reaches the page as markup, and the embedded JSON cannot end its script element', () => {
      for (const name of HOSTILE) expect(html).to.not.include(name)
      expect(html).to.include('&lt;script&gt;alert(1)&lt;/script&gt;')
      const script = /<script type="application\/json" id="report-data">([^]*?)<\/script>/.exec(html)![1]!
      expect(script).to.not.match(/[<>&]/)
      expect(script).to.include('\\u003c/script\\u003e\\u003cscript\\u003ealert(2)')
      expect(inertJson({ a: '</script>\u2028' })).to.equal('{"a":"\\u003c/script\\u003e\\u2028"}')
    })

    it('given the page, when its embedded JSON is read back, then it is the chart data and every key’s totals, names unchanged', () => {
      const data = embedded(html)
      expect(data).to.deep.equal(JSON.parse(JSON.stringify(usageHtmlData(r, SUMMARY))))
      expect(data.perDay).to.deep.equal(r.perDay)
      expect(data.busiest).to.deep.equal(r.busiest)
      expect(data.summary).to.deep.equal(SUMMARY)
      expect(data.keys.columns).to.deep.equal([...USAGE_KEY_COLUMNS])
      const rows = data.keys.rows.map((row: unknown[]) => Object.fromEntries(USAGE_KEY_COLUMNS.map((c, i) => [c, row[i]])))
      expect(rows).to.deep.equal(r.keys.map(({ daily: _daily, total: _total, ...k }) => k))
      expect(rows.map((k: any) => k.name)).to.include.members(HOSTILE)
    })

    it('given 10,000 keys over 30 days, then the page stays under 2 MB, renders in well under 3 s, lists 10 top keys and caps the unused list', () => {
      const big = bigUsageFixture(10_000, 30)
      const started = performance.now()
      const page = renderUsageHtml(big, SUMMARY)
      const ms = performance.now() - started
      const bytes = Buffer.byteLength(page)
      expect(bytes, `${bytes} bytes`).to.be.below(2 * 1024 * 1024)
      expect(ms, `${ms} ms`).to.be.below(1500)
      expect(bars(section(page, 'validations-per-day'))).to.have.length(60)
      expect(section(page, 'top-keys').match(/<tr><th scope="row">/g)).to.have.length(10)
      const never = section(page, 'never-used')
      expect(never.match(/<tr><th scope="row">/g)).to.have.length(50)
      expect(never).to.include('… and 950 more keys')
      expect(embedded(page).keys.rows).to.have.length(10_000)
    })
  })

  describe('inventory', () => {
    const inv = inventoryFixture()
    const html = renderInventoryHtml(inv, SUMMARY)

    it('given an inventory, then credentials by kind and status draw one bar per non-zero cell, the histogram counts the live ones, and every credential is listed', () => {
      expectSelfContained(html)
      expect(bars(section(html, 'by-kind-status')).map((b) => [b.category, b.series, b.value])).to.deep.equal([
        ['momentry-key', 'active', 2],
        ['momentry-key', 'revoked', 1],
        ['gitea-token', 'active', 1],
        ['gitea-token', 'deleted', 1],
        ['n8n-api-key', 'expired', 1],
      ])
      // Live: not revoked, not deleted (4 of 6).
      expect(total(bars(svg(html, 'age-chart')))).to.equal(4)
      expect(bars(svg(html, 'expiry-chart')).map((b) => [b.category, b.value])).to.deep.equal([
        ['expired', 1],
        ['≤ 7 days', 1],
        ['never', 2],
      ])
      expect(section(html, 'credentials').match(/<tr><th scope="row">/g)).to.have.length(6)
      for (const name of HOSTILE) expect(html).to.not.include(name)
      expect(html).to.include('data-summary="credentials">6</dd>')
      expect(embedded(html)).to.deep.equal(JSON.parse(JSON.stringify(inventoryHtmlData(inv, SUMMARY))))
      expect(embedded(html).items).to.deep.equal(inv.items)
    })
  })

  describe('security', () => {
    const r = securityFixture()
    const html = renderSecurityHtml(r)

    it('given a security report, then every chart draws one bar per non-zero number of the fixture', () => {
      expectSelfContained(html)
      const counts = Object.fromEntries(
        ['failures-by-code', 'failures-per-day', 'failures-by-source', 'anomalies-by-type', 'anomalies-by-severity', 'blacklist-hits'].map((id) => [id, bars(section(html, id)).length]),
      )
      expect(counts).to.deep.equal({ 'failures-by-code': 3, 'failures-per-day': 4, 'failures-by-source': 3, 'anomalies-by-type': 2, 'anomalies-by-severity': 3, 'blacklist-hits': 2 })
      expect(total(bars(section(html, 'failures-by-code')))).to.equal(8)
      expect(total(bars(section(html, 'failures-per-day')))).to.equal(8)
      expect(bars(svg(html, 'expiry-chart')).map((b) => b.value)).to.deep.equal([1, 61])
    })

    it('given the lists, then each is a table with its total, capped at 50 rows with an "and N more" line; lockouts say how many are not listed', () => {
      const forever = section(html, 'without-expiry')
      expect(forever).to.include('<caption>Without expiry: 60</caption>')
      expect(forever.match(/<tr><th scope="row">/g)).to.have.length(50)
      expect(forever).to.include('… and 10 more keys')
      expect(section(html, 'lockouts')).to.include('… and 1 more lockouts')
      expect(section(html, 'without-owner')).to.include('Every live key has an owner.')
      expect(section(html, 'rotation-overdue')).to.include('<td class="num">67</td>')
      for (const name of HOSTILE) expect(html).to.not.include(name)
    })

    it('given the audit verdict, then an intact chain is a green "intact" line and a broken one a red line naming the sequence and the problem', () => {
      expect(html).to.include('class="audit ok"').and.include('✔ Audit chain intact')
      const broken = renderSecurityHtml(securityFixture(BROKEN))
      expect(broken).to.include('<p class="audit broken" data-summary="audit-status" data-status="broken"><strong>✘ Audit chain broken at seq 17</strong>: row hash does not match &lt;its fields&gt;.')
      expect(broken.indexOf('class="audit broken"')).to.be.lessThan(broken.indexOf('id="failures-by-code"'))
    })

    it('given the page, when its embedded JSON is read back, then it is the report with the key lists as columnar tables', () => {
      const data = embedded(html)
      expect(data).to.deep.equal(JSON.parse(JSON.stringify(securityHtmlData(r))))
      expect(data.failuresPerDay).to.deep.equal(r.failuresPerDay)
      expect(data.anomalies).to.deep.equal(r.anomalies)
      expect(data.withoutExpiry.rows).to.have.length(60)
      expect(data.rotationOverdue.rows[0]).to.deep.equal(['key_s1', HOSTILE[0], 'service', null, 'active', '2031-01-01T00:00:00.000Z', null, 86_400, '2031-01-02T00:00:00.000Z', 67])
    })
  })
})
