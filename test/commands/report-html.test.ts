import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

import { expect } from 'chai'
import type { Browser, Page } from 'playwright-core'
import { chromium } from 'playwright-core'

import { createKey } from '../../src/core/api-keys/create-key.js'
import { appendAudit } from '../../src/core/audit/repo.js'
import { fixedClock } from '../../src/core/clock.js'
import { runCli } from '../helpers/cli.js'
import { openTestSql, testContext, truncateAll } from '../helpers/db.js'

const DAY = 86_400_000
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** The page as a reader's browser shows it, every request it makes recorded. */
async function open(browser: Browser, file: string, javaScriptEnabled = true): Promise<{ page: Page; requests: string[]; close: () => Promise<void> }> {
  const context = await browser.newContext({ javaScriptEnabled, viewport: { width: 1400, height: 900 } })
  const page = await context.newPage()
  const requests: string[] = []
  page.on('request', (r) => requests.push(r.url()))
  context.on('request', (r) => requests.push(r.url()))
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' })
  return { page, requests, close: () => context.close() }
}

/** Only the file itself was fetched (and a data: URL, if the browser asked for the empty icon). */
function expectOnlyTheFile(requests: string[], file: string): void {
  const others = requests.filter((u) => u !== pathToFileURL(file).href && !u.startsWith('data:'))
  expect(others, 'requests other than the file').to.deep.equal([])
  expect(requests).to.include(pathToFileURL(file).href)
}

const marks = (page: Page, selector: string) => page.locator(`${selector} rect.bar`).count()
/** The data attributes of every mark under `selector`, in page order. */
async function markData(page: Page, selector: string): Promise<{ series: string; category: string; value: number }[]> {
  const out = []
  for (const bar of await page.locator(`${selector} rect.bar`).all()) {
    const [series, category, value] = await Promise.all(['data-series', 'data-category', 'data-value'].map((a) => bar.getAttribute(a)))
    out.push({ series: series!, category: category!, value: Number(value) })
  }
  return out
}
const summary = (page: Page, id: string) => page.locator(`[data-summary="${id}"]`).textContent()

/** A full-page screenshot beside the report, and a copy in MOMENTRY_SCREENSHOT_DIR when set (for the docs). */
async function screenshot(page: Page, dir: string, name: string): Promise<string> {
  const file = join(dir, name)
  await page.screenshot({ path: file, fullPage: true })
  const keep = process.env.MOMENTRY_SCREENSHOT_DIR
  if (keep) {
    mkdirSync(keep, { recursive: true })
    copyFileSync(file, join(keep, name))
  }
  return file
}

describe('report usage|security|inventory --format html (in Chromium)', function () {
  this.timeout(60_000)
  const sql = openTestSql()
  let browser: Browser
  let dir: string
  let auditRows = 0
  // The window: the last three UTC days up to tomorrow's midnight, so every seeded key is in it.
  const tomorrow = new Date(Math.floor(Date.now() / DAY) * DAY + DAY)
  const day = (offset: number) => new Date(tomorrow.getTime() - (3 - offset) * DAY)
  const WINDOW = ['--since', '3d', '--until', tomorrow.toISOString()]

  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`)
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
    await truncateAll(sql)
    dir = mkdtempSync(join(tmpdir(), 'momentry-html-'))
    // Two keys made 100 days ago (one due for rotation, one expiring in 20 days), two now (one
    // expiring in 5 days, one without expiry and with a name full of markup).
    const clock = fixedClock(new Date(Date.now() - 100 * DAY))
    const ctx = testContext(sql, { clock })
    const old = (await createKey(ctx, { name: 'old', type: 'user', rotateEverySeconds: 30 * 86_400 })).key.id
    await createKey(ctx, { name: 'idle', type: 'user', expiresInSeconds: 120 * 86_400 })
    clock.set(new Date())
    const billing = (await createKey(ctx, { name: 'billing', type: 'service', owner: 'payments', expiresInSeconds: 5 * 86_400 })).key.id
    const ci = (await createKey(ctx, { name: `ci <script>alert("x")</script> & co`, type: 'integration' })).key.id
    const usage: [string, Date, number, number][] = [
      [billing, day(0), 5, 1],
      [billing, day(2), 7, 0],
      [ci, day(1), 3, 2],
      [old, day(2), 0, 4],
    ]
    for (const [key, minute, ok, fail] of usage) await sql`insert into key_usage_minute (key_id, minute, ok_count, fail_count) values (${key}, ${minute}, ${ok}, ${fail})`
    // The same failures by code and source, plus five no key is named for (3 NOT_FOUND, 2 BLACKLISTED).
    const failures: [Date, string, string, string, number][] = [
      [day(0), 'INSUFFICIENT_SCOPE', '203.0.113.5', billing, 1],
      [day(1), 'EXPIRED', '203.0.113.5', ci, 2],
      [day(2), 'REVOKED', '198.51.100.7', old, 4],
      [day(2), 'NOT_FOUND', '198.51.100.7', '', 3],
      [day(1), 'BLACKLISTED', '192.0.2.9', '', 2],
    ]
    for (const [minute, code, ip, key, n] of failures) await sql`insert into validation_failure_minute (minute, code, ip, key_id, count) values (${minute}, ${code}, ${ip}, ${key}, ${n})`
    await sql`insert into ip_blacklist (network, reason, created_at, created_by) values ('192.0.2.0/24', 'scanner', now(), 'cli:test')`
    await sql.begin((tx) => appendAudit(ctx, tx, { keyId: null, action: 'ip.lockout', actor: 'serve', ip: '198.51.100.7', at: day(2), details: { attempts: 5, retryAfterSeconds: 900 } }))
    for (const [i, status] of ['open', 'acknowledged', 'resolved'].entries()) {
      await sql`insert into api_key_anomalies (anomaly_id, key_id, anomaly_type, severity, observed, threshold, window_seconds, first_seen_at, last_seen_at, status)
        values (${`anom_html${i}`}, ${billing}, ${['high_request_rate', 'multiple_ips', 'unusual_time'][i]!}, 'high', 10, 5, 60, now(), now(), ${status})`
    }
    await sql`insert into gitea_tokens (gitea_url, gitea_token_id, username, token_name, scopes, token_last_eight, created_at, created_by, deleted_at)
      values ('http://gitea.test:3000', 1, 'alice', 'deploy', '{read:repository}', 'abcd1234', now(), 'cli:test', null),
             ('http://gitea.test:3000', 2, 'alice', 'gone', '{}', 'abcd5678', now(), 'cli:test', now())`
    auditRows = (await sql`select count(*)::int as n from api_key_audit_log`)[0]!.n
  })
  after(async () => {
    await browser?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
    await truncateAll(sql)
    await sql.end()
  })

  it('given seeded keys, usage, anomalies and an intact audit chain, when `report usage --format html --out FILE` runs, then Chromium shows every mark and number the seed implies and fetches nothing but the file', async () => {
    const file = join(dir, 'usage.html')
    const r = await runCli(['report', 'usage', ...WINDOW, '--format', 'html', '--out', file])
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stderr).to.match(/Wrote the usage of 4 key\(s\) over 3 day\(s\) to .*usage\.html \(html\)/)
    const { page, requests, close } = await open(browser, file)
    try {
      expectOnlyTheFile(requests, file)
      // Per day: billing 5/1, ci 3/2, old 0/4, billing 7/0 → ok and failed on each of 3 days, 6 marks.
      expect(await marks(page, '#validations-per-day')).to.equal(6)
      // Failures of known keys by code: INSUFFICIENT_SCOPE 1 (billing), EXPIRED 2 (ci), REVOKED 4 (old).
      expect((await markData(page, '#failures-by-code')).map((b) => [b.category, b.value])).to.deep.equal([
        ['REVOKED', 4],
        ['EXPIRED', 2],
        ['INSUFFICIENT_SCOPE', 1],
      ])
      // Busiest: billing ok+failed, ci ok+failed, old failed only.
      expect(await marks(page, '#top-keys')).to.equal(5)
      // Age: two under a week, two 90–180 days; expiry: ≤ 7 days, 8–30 days, never (2).
      expect(await marks(page, '#age-chart')).to.equal(2)
      expect(await marks(page, '#expiry-chart')).to.equal(3)
      const perDay = await markData(page, '#validations-per-day')
      expect(perDay.filter((b) => b.series === 'ok').map((b) => b.value)).to.deep.equal([5, 3, 7])
      expect(perDay.filter((b) => b.series === 'failed').map((b) => b.value)).to.deep.equal([1, 2, 4])
      const seen = Object.fromEntries(
        await Promise.all(['validations', 'ok', 'failed', 'keys-used', 'keys-never-used', 'keys-total', 'keys-active', 'rotation-overdue', 'expiring-7d', 'expiring-30d', 'open-anomalies', 'audit-rows'].map(async (id) => [id, await summary(page, id)])),
      )
      expect(seen).to.deep.equal({
        validations: '22',
        ok: '15',
        failed: '7',
        'keys-used': '3',
        'keys-never-used': '1',
        'keys-total': '4',
        'keys-active': '4',
        'rotation-overdue': '1',
        'expiring-7d': '1',
        'expiring-30d': '2',
        'open-anomalies': '2',
        'audit-rows': String(auditRows),
      })
      expect(await page.locator('[data-summary="audit-status"]').getAttribute('data-status')).to.equal('ok')
      // The hostile name is text, never markup: the page has one script element, the inert JSON.
      expect(await page.locator('#top-keys').textContent()).to.include('ci <script>alert("x")</script> & co')
      expect(await page.locator('script').count()).to.equal(1)
      const data = JSON.parse((await page.locator('#report-data').textContent())!)
      expect(data.totals).to.deep.include({ validations: 22, ok: 15, failed: 7 })
      expect(data.keys.rows.map((row: unknown[]) => row[1])).to.include('ci <script>alert("x")</script> & co')
      // Each chart is an image with a text alternative; each table has a caption.
      for (const svg of await page.locator('svg.chart').all()) {
        expect(await svg.getAttribute('role')).to.equal('img')
        expect(await svg.locator('title').first().textContent()).to.not.equal('')
        expect(await svg.locator('desc').textContent()).to.not.equal('')
      }
      expect(await page.locator('table:not(:has(caption))').count()).to.equal(0)
      const png = await screenshot(page, dir, 'report-usage.png')
      expect(statSync(png).size).to.be.greaterThan(10_000)
      // Printed on A4 (about 718 CSS px between the margins): nothing wider than the page, charts kept whole.
      await page.setViewportSize({ width: 718, height: 1000 })
      await page.emulateMedia({ media: 'print' })
      // (Strings: the test's types have no DOM.)
      expect(await page.evaluate<number>('document.documentElement.scrollWidth')).to.be.at.most(718)
      expect(await page.evaluate<string[]>("[...document.querySelectorAll('figure')].map((f) => getComputedStyle(f).breakInside)")).to.deep.equal(['avoid', 'avoid', 'avoid', 'avoid', 'avoid'])
    } finally {
      await close()
    }
  })

  it('given JavaScript disabled, when the usage report is opened, then the charts, tables and summary are all there', async () => {
    const file = join(dir, 'usage.html')
    const { page, requests, close } = await open(browser, file, false)
    try {
      expectOnlyTheFile(requests, file)
      expect(await marks(page, '#validations-per-day')).to.equal(6)
      expect(await page.locator('section.chart-block').count()).to.equal(4)
      expect(await page.locator('section.chart-block figure svg[role="img"]').count()).to.equal(5)
      expect(await page.locator('section.chart-block table').count()).to.equal(5)
      expect(await summary(page, 'validations')).to.equal('22')
    } finally {
      await close()
    }
  })

  it('given --format html without --out, then the page goes to stdout whole', async () => {
    const r = await runCli(['report', 'usage', ...WINDOW, '--format', 'html'])
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout.startsWith('<!doctype html>\n')).to.equal(true)
    expect(r.stdout.trimEnd().endsWith('</html>')).to.equal(true)
    expect(r.stdout).to.include('data-summary="validations">22</dd>')
  })

  it('given seeded failures, a lockout, a blacklist hit and anomalies, when `report security --format html --out FILE` runs, then Chromium shows every mark and number the seed implies and fetches nothing but the file', async () => {
    const file = join(dir, 'security.html')
    const r = await runCli(['report', 'security', ...WINDOW, '--format', 'html', '--out', file])
    expect(r.code, r.stderr).to.equal(0)
    const { page, requests, close } = await open(browser, file)
    try {
      expectOnlyTheFile(requests, file)
      // Five codes, one non-zero value each.
      expect((await markData(page, '#failures-by-code')).map((b) => [b.category, b.value])).to.deep.equal([
        ['NOT_FOUND', 3],
        ['REVOKED', 4],
        ['EXPIRED', 2],
        ['INSUFFICIENT_SCOPE', 1],
        ['BLACKLISTED', 2],
      ])
      // Per day: INSUFFICIENT_SCOPE on day 1; EXPIRED and BLACKLISTED on day 2; REVOKED and NOT_FOUND on day 3.
      expect(await marks(page, '#failures-per-day')).to.equal(5)
      // Sources stacked by code: 203.0.113.5 (2 codes), 198.51.100.7 (2), 192.0.2.9 (1); most failures first.
      expect((await markData(page, '#failures-by-source')).map((b) => b.category)).to.have.members(['198.51.100.7', '198.51.100.7', '203.0.113.5', '203.0.113.5', '192.0.2.9'])
      expect(await page.locator('#failures-by-source-chart g text, #failures-by-source-chart text').first().textContent()).to.be.a('string')
      expect((await markData(page, '#blacklist-hits')).map((b) => [b.category, b.value])).to.deep.equal([['192.0.2.9', 2]])
      expect(await page.locator('#blacklist-hits table').textContent()).to.include('192.0.2.0/24')
      // Anomalies first seen today (the window's last day): one of each of three types, all high.
      expect((await markData(page, '#anomalies-by-type')).map((b) => [b.series, b.value])).to.have.deep.members([
        ['high_request_rate', 1],
        ['multiple_ips', 1],
        ['unusual_time', 1],
      ])
      expect((await markData(page, '#anomalies-by-severity')).map((b) => [b.series, b.value])).to.deep.equal([['high', 3]])
      expect(await page.locator('#lockouts tbody tr').count()).to.equal(1)
      expect(await page.locator('#lockouts tbody').textContent()).to.include('198.51.100.7')
      const seen = Object.fromEntries(await Promise.all(['failures', 'failures-known-keys', 'lockouts', 'blacklist-hits', 'anomalies', 'report-rotation-overdue', 'open-anomalies'].map(async (id) => [id, await summary(page, id)])))
      expect(seen).to.deep.equal({ failures: '12', 'failures-known-keys': '7', lockouts: '1', 'blacklist-hits': '2', anomalies: '3', 'report-rotation-overdue': '1', 'open-anomalies': '2' })
      expect(await page.locator('[data-summary="audit-status"]').getAttribute('data-status')).to.equal('ok')
      expect(await page.locator('script').count()).to.equal(1)
      expect(await page.locator('table:not(:has(caption))').count()).to.equal(0)
      await screenshot(page, dir, 'report-security.png')
    } finally {
      await close()
    }
  })

  it('given keys and Gitea tokens, when `report inventory --format html --out FILE` runs, then Chromium shows each kind and status, the live credentials’ ages and every credential, fetching nothing', async () => {
    const file = join(dir, 'inventory.html')
    const r = await runCli(['report', 'inventory', '--format', 'html', '--out', file])
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stderr).to.match(/Wrote 6 credential\(s\) to .*inventory\.html \(html\)/)
    const { page, requests, close } = await open(browser, file)
    try {
      expectOnlyTheFile(requests, file)
      // momentry keys: 4 active; Gitea: 1 active, 1 deleted.
      expect((await markData(page, '#by-kind-status')).map((b) => [b.category, b.series, b.value])).to.deep.equal([
        ['momentry-key', 'active', 4],
        ['gitea-token', 'active', 1],
        ['gitea-token', 'deleted', 1],
      ])
      // Live: the 4 keys and the Gitea token not deleted. Age: < 7 days (3), 90–180 days (2); expiry: ≤ 7, 8–30, never (3).
      expect(await marks(page, '#age-chart')).to.equal(2)
      expect(await marks(page, '#expiry-chart')).to.equal(3)
      expect(await page.locator('#credentials tbody tr').count()).to.equal(6)
      expect(await summary(page, 'credentials')).to.equal('6')
      expect(await summary(page, 'keys-total')).to.equal('4')
      expect(await page.locator('[data-summary="audit-status"]').getAttribute('data-status')).to.equal('ok')
      await screenshot(page, dir, 'report-inventory.png')
    } finally {
      await close()
    }
    expect(readFileSync(file, 'utf8')).to.not.include('abcd1234')
  })
})
