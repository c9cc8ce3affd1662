/** @jsxRuntime automatic */
/** @jsxImportSource react */
// The dashboard laid out for the terminals people have: 80×24 and 120×40 (and a few sizes
// between), rendered by ink into a terminal of that many columns, fed a fixed state.
import { EventEmitter } from 'node:events'
import { createRequire } from 'node:module'

import { expect } from 'chai'
import { render } from 'ink'
import type { ReactElement } from 'react'

import type { DashboardSnapshot, WatchAlert } from '../../src/core/watch/dashboard.js'
import { Dashboard, alertLayout } from '../../src/ui/watch/dashboard.js'
import { WatchModel } from '../../src/ui/watch/model.js'

const width = createRequire(import.meta.url)('string-width') as (s: string) => number
const strip = (s = '') => s.replace(/\u001B\[[0-9;?]*[A-Za-z]/g, '')

/** A terminal `columns` wide for ink to draw into (ink-testing-library's is always 100). */
class Terminal extends EventEmitter {
  frame = ''
  constructor(
    readonly columns: number,
    readonly rows: number,
  ) {
    super()
  }
  write = (frame: string) => {
    this.frame = frame
    return true
  }
}

class Keys extends EventEmitter {
  isTTY = true
  private data: string | null = null
  write(data: string) {
    this.data = data
    this.emit('readable')
    this.emit('data', data)
  }
  read = () => {
    const d = this.data
    this.data = null
    return d
  }
  setEncoding() {}
  setRawMode() {}
  resume() {}
  pause() {}
  ref() {}
  unref() {}
}

function draw(tree: ReactElement, columns: number, rows: number) {
  const stdout = new Terminal(columns, rows)
  const stdin = new Keys()
  const app = render(tree, { stdout: stdout as never, stderr: new Terminal(columns, rows) as never, stdin: stdin as never, debug: true, exitOnCtrlC: false, patchConsole: false })
  return { frame: () => strip(stdout.frame), lines: () => strip(stdout.frame).split('\n'), stdin, unmount: () => app.unmount() }
}

const now = Date.parse('2026-11-22T10:00:00Z')
const alert = (i: number, severity: WatchAlert['severity'], type: WatchAlert['type'], keyName: string, status: WatchAlert['status'] = 'open'): WatchAlert => ({
  id: `anm_00000000000000${String(i).padStart(2, '0')}`,
  keyId: `key_${String(i).repeat(16).slice(0, 16)}`,
  keyName,
  type,
  severity,
  observed: 1200,
  threshold: 300,
  windowSeconds: 60,
  detectedAt: new Date(now - i * 1000).toISOString(),
  status,
  count: 4,
})
const ALERTS = [alert(1, 'critical', 'high_request_rate', 'billing-export'), alert(2, 'medium', 'multiple_ips', 'search-svc', 'acknowledged'), alert(3, 'high', 'high_error_rate', 'payments-webhook-relay-eu')]

function fedModel(): WatchModel {
  const model = new WatchModel({ channel: 'alerts', via: 'Redis' }, { acknowledge: async () => {}, resolve: async () => {}, disableKey: async () => {}, quit: () => {} }, 0)
  model.feed('live')
  model.postgres('live')
  const snapshot: DashboardSnapshot = {
    at: new Date(now).toISOString(),
    anomalies: ALERTS,
    limit: 100,
    counts: { total: 3, byType: { high_request_rate: 1, high_error_rate: 1, multiple_ips: 1, unusual_time: 0 }, bySeverity: { low: 0, medium: 1, high: 1, critical: 1 } },
    perMinute: Array.from({ length: 30 }, (_, i) => ({ minute: new Date(now - (29 - i) * 60_000).toISOString(), ok: 100 + ((i * 37) % 100), fail: i % 3 === 0 ? 0 : (i * 13) % 20 })),
    topTraffic: [
      { keyId: 'key_1111111111111111', name: 'billing-export', total: 1353, failures: 3 },
      { keyId: 'key_2222222222222222', name: 'search-svc', total: 117, failures: 77 },
    ],
    topFailures: [
      { keyId: 'key_2222222222222222', name: 'search-svc', total: 117, failures: 77 },
      { keyId: 'key_1111111111111111', name: 'billing-export', total: 1353, failures: 3 },
    ],
    lockedOutIps: [{ ip: '198.51.100.7', retryAfterSeconds: 540 }],
  }
  model.snapshot(snapshot)
  return model
}

const settle = () => new Promise((r) => setTimeout(r, 30))

describe('watch dashboard layout at 80×24 and 120×40 (ink, fixed state)', () => {
  const sizes = [
    { columns: 80, rows: 24, titles: ['Alerts, newest first', 'Unresolved anomalies: 3', 'Locked-out IPs: 1', 'Validations/min (last 23 min)', 'Top traffic (1 h)', 'Top failures (1 h)'] },
    { columns: 120, rows: 40, titles: ['Alerts, newest first', 'Unresolved anomalies: 3', 'Locked-out IPs: 1', 'Validations per minute (last 30 min)', 'Top keys by traffic (1 h)', 'Top keys by failures (1 h)'] },
  ]
  for (const { columns, rows, titles } of sizes) {
    describe(`given a terminal of ${columns}×${rows}`, () => {
      let d: ReturnType<typeof draw>
      let model: WatchModel
      beforeEach(async () => {
        model = fedModel()
        d = draw(<Dashboard model={model} width={columns} height={rows} colour={false} />, columns, rows)
        await settle()
      })
      afterEach(() => {
        d.unmount()
        model.close()
      })

      it('then no line is wider than the terminal and the frame is one line shorter than it', () => {
        for (const line of d.lines()) expect(width(line), line).to.be.at.most(columns)
        expect(d.lines()).to.have.length(rows - 1)
      })

      it('then every panel title is shown whole, and the header keeps both connections and the filter', () => {
        for (const title of titles) expect(d.frame()).to.match(new RegExp(`│${title.replace(/[()]/g, '\\$&')}\\s*│`))
        expect(d.lines()[0]).to.match(/PostgreSQL ● live .*Redis ● live .*filter all/)
      })

      it('then the failure sparkline is drawn under the traffic one', () => {
        const frame = d.frame()
        expect(frame).to.match(/│all +[▁-█ ]*[▁-█][▁-█ ]*│/)
        expect(frame).to.match(/│fail +[▁-█ ]*[▁-█][▁-█ ]*│/)
      })

      it('then each alert row shows its severity, type, status and key name (a long name cut with …)', () => {
        const frame = d.frame()
        expect(frame).to.match(/› (\d\d:\d\d:\d\d )?CRITICAL\s+high_request_rate\s+open\s.*billing-export/)
        expect(frame).to.match(/MEDIUM\s+multiple_ips\s+acked\s.*search-svc/)
        expect(frame).to.match(/HIGH\s+high_error_rate\s+open\s.*payments-web\S*(…|-relay-eu)/)
        if (columns >= 120) expect(frame).to.match(/› \d\d:\d\d:\d\d CRITICAL\s+high_request_rate\s+open\s+1200\/300\s+×4\s+billing-export/)
      })

      it('when d is pressed, then the whole question with its y / n and what it does are shown', async () => {
        d.stdin.write('d')
        await settle()
        const lines = d.lines()
        expect(lines.at(-2)).to.equal('Disable key key_1111111111111111 (billing-export)? y / n')
        expect(lines.at(-1)).to.equal('Every validation of it will fail until `momentry api-key enable`.')
        for (const line of lines) expect(width(line)).to.be.at.most(columns)
      })
    })
  }

  it('given a key name too long for the line, when d is pressed at 80 columns, then the name gives way and y / n stays', async () => {
    const model = fedModel()
    model.alert({ ...alert(9, 'critical', 'unusual_time', 'x'.repeat(70)), detectedAt: new Date(now + 1000).toISOString() })
    const d = draw(<Dashboard model={model} width={80} height={24} colour={false} />, 80, 24)
    try {
      await settle()
      d.stdin.write('d')
      await settle()
      const question = d.lines().at(-2)!
      expect(question).to.match(/^Disable key key_9{16} \(x+…\)\? y \/ n$/)
      expect(width(question)).to.be.at.most(80)
    } finally {
      d.unmount()
      model.close()
    }
  })

  it('given sizes from 60×20 to 200×50, then no line is wider than the terminal', async () => {
    for (const [columns, rows] of [[60, 20], [72, 22], [90, 30], [100, 30], [132, 43], [200, 50]] as const) {
      const model = fedModel()
      const d = draw(<Dashboard model={model} width={columns} height={rows} colour={false} />, columns, rows)
      await settle()
      for (const line of d.lines()) expect(width(line), `${columns}×${rows}: ${line}`).to.be.at.most(columns)
      d.unmount()
      model.close()
    }
  })

  it('given the width of a row, then the key name always has 12 characters, and the other fields come in as room allows', () => {
    for (let inner = 41; inner <= 160; inner++) {
      const l = alertLayout(inner)
      const used = 2 + 9 + 18 + l.name + (l.status ? 9 : 0) + (l.time ? 9 : 0) + (l.count ? 6 : 0) + (l.ratio ? 12 : 0) + (l.keyId ? 21 : 0)
      expect(l.name).to.be.within(12, 24)
      expect(used, `inner ${inner}`).to.be.at.most(inner)
    }
    expect(alertLayout(52)).to.include({ status: true, time: false })
    expect(alertLayout(82)).to.include({ status: true, time: true, count: true, ratio: true, keyId: false })
    expect(alertLayout(120)).to.include({ keyId: true })
  })
})
