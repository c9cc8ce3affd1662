import { Box, Text, useInput } from 'ink'
import { useSyncExternalStore } from 'react'

import { ANOMALY_TYPES, SEVERITIES } from '../../core/anomalies/anomaly-view.js'
import type { WatchAlert } from '../../core/watch/dashboard.js'
import { SEVERITY_COLOUR } from '../anomalies.js'
import { clockTime, compactNumber, keyLabel, sharedNames, sparkline } from './format.js'
import type { Connection, WatchModel, WatchState } from './model.js'

const STATE_COLOUR: Record<string, string> = { live: 'green', connecting: 'yellow', reconnecting: 'yellow', down: 'red', off: 'gray' }

/** The first of these texts that fits `width` (the last, cut by ink, when none does): titles and lines that say less when narrow. */
export const fitText = (width: number, ...texts: string[]) => texts.find((t) => t.length <= width) ?? texts.at(-1)!

/** `name` in at most `width` characters, ending with … when cut. */
const shorten = (name: string, width: number) => (name.length <= width ? name : `${name.slice(0, Math.max(0, width - 1))}…`)

/**
 * How wide each panel is on a terminal `w` columns wide: the counts column 26 (80 columns)
 * to 36 (120 and more), the top-key panels 24 to 30, the alert feed and the traffic panel
 * the rest, so that at 80 the alert rows keep their key names and the traffic panel its title.
 */
export function panelWidths(w: number): { right: number; feed: number; top: number; traffic: number } {
  const right = Math.min(36, Math.max(26, w - 84))
  const top = Math.min(30, Math.max(24, Math.floor((w - 32) / 2)))
  return { right, feed: w - right, top, traffic: w - 2 * top }
}

export interface DashboardProps {
  model: WatchModel
  width: number
  height: number
  /** false under NO_COLOR: no colour, selection still shown in inverse. */
  colour?: boolean
}

/**
 * The `momentry watch` screen, sized to exactly height − 1 lines (a frame as tall as the
 * terminal makes ink clear the screen on every render, which flickers).
 */
export function Dashboard({ model, width, height, colour = true }: DashboardProps) {
  const state = useSyncExternalStore(model.subscribe, model.getState)
  useInput((input, key) => {
    // Keys typed faster than a render arrive as one chunk ("ff"): take them one by one.
    if (input.length > 1 && !key.ctrl && !key.meta) for (const ch of input) model.key(ch, {})
    else model.key(input, key)
  })
  const c = (name: string | undefined) => (colour ? name : undefined)
  const w = Math.max(60, width)
  const h = Math.max(20, height) - 1
  // 24 rows: the traffic panel keeps both sparklines and drops its numbers line.
  const bottom = h >= 30 ? 7 : h >= 25 ? 6 : 5
  const top = h - 1 - 2 - bottom
  const panels = panelWidths(w)
  const visible = model.visible(state)
  const selected = model.selected(state)
  // A name on more than one key across both panels (rotations keep the name) gets a short id.
  const shared = sharedNames([...(state.snapshot?.topTraffic ?? []), ...(state.snapshot?.topFailures ?? [])])
  return (
    <Box flexDirection="column" width={w} height={h}>
      <Header state={state} c={c} shown={visible.length} width={w} />
      <Box height={top}>
        <Feed alerts={visible} selectedId={selected?.id} rows={top - 3} width={panels.feed} c={c} state={state} />
        <Box flexDirection="column" width={panels.right}>
          <Counts state={state} c={c} width={panels.right} />
          <LockedOut state={state} rows={top - 11 - 3} width={panels.right} />
        </Box>
      </Box>
      <Box height={bottom}>
        <Traffic state={state} width={panels.traffic} rows={bottom - 2} c={c} />
        <TopKeys titles={['Top keys by traffic (1 h)', 'Top traffic (1 h)']} width={panels.top} rows={bottom - 2} keys={state.snapshot?.topTraffic} shared={shared} value={(k) => k.total} />
        <TopKeys titles={['Top keys by failures (1 h)', 'Top failures (1 h)']} width={panels.top} rows={bottom - 2} keys={state.snapshot?.topFailures} shared={shared} value={(k) => k.failures} />
      </Box>
      <Footer state={state} c={c} width={w} />
    </Box>
  )
}

type Paint = (name: string | undefined) => string | undefined

/**
 * One line, said in fewer words the narrower the terminal: the labels go first ("refreshed",
 * the received count, "momentry", "alerts via"), then the refresh time, so that at 80 columns
 * both connections, the pause and the filter stay in view.
 */
function Header({ state, c, shown, width }: { state: WatchState; c: Paint; shown: number; width: number }) {
  const filter = state.filter === 'low' ? 'all' : `≥ ${state.filter}`
  const at = state.snapshot ? clockTime(state.snapshot.at) : undefined
  const paused = state.paused ? `  PAUSED (${state.held} held)` : ''
  const back = (conn: Connection<string>, word: string) => (conn.reconnectedAt && conn.state === 'live' ? ` (${word} ${clockTime(conn.reconnectedAt)})` : '')
  const variant = (level: number) => {
    const v = {
      title: level >= 3 ? 'watch' : 'momentry watch',
      pg: level >= 7 ? 'PG' : 'PostgreSQL',
      via: level >= 5 ? state.via : `alerts via ${state.via}`,
      back: level >= 4 ? 'back' : 'reconnected',
      counts: `${level >= 2 ? '' : `alerts ${state.received} · `}shown ${shown} · filter ${filter}${at && level < 6 ? ` · ${level >= 1 ? '' : 'refreshed '}${at}` : ''}`,
    }
    const plain = `${v.title}${paused}  ${v.pg} ● ${state.postgres.state}${back(state.postgres, v.back)}  ${v.via} ● ${state.feed.state}${back(state.feed, v.back)}  ${v.counts}`
    return { ...v, fits: plain.length <= width }
  }
  let level = 0
  while (level < 7 && !variant(level).fits) level++
  const v = variant(level)
  return (
    <Box height={1}>
      <Text wrap="truncate-end">
        <Text bold>{v.title}</Text>
        {state.paused ? <Text color={c('yellow')} bold>{paused}</Text> : null}
        {'  '}
        <Status label={v.pg} conn={state.postgres} c={c} back={v.back} />
        {'  '}
        <Status label={v.via} conn={state.feed} c={c} back={v.back} />
        {'  '}
        <Text dimColor>{v.counts}</Text>
      </Text>
    </Box>
  )
}

function Status({ label, conn, c, back }: { label: string; conn: Connection<string>; c: Paint; back: string }) {
  const text = conn.state
  return (
    <Text>
      {label} <Text color={c(STATE_COLOUR[conn.state])}>● {text}</Text>
      {conn.reconnectedAt && conn.state === 'live' ? <Text dimColor>{` (${back} ${clockTime(conn.reconnectedAt)})`}</Text> : null}
    </Text>
  )
}

function Panel({ title, children, width, height, grow }: { title: string; children: React.ReactNode; width?: number; height?: number; grow?: boolean }) {
  return (
    <Box flexDirection="column" borderStyle="round" borderColor="gray" width={width} height={height} flexGrow={grow ? 1 : 0} overflow="hidden">
      <Text bold wrap="truncate-end">
        {title}
      </Text>
      {children}
    </Box>
  )
}

function Feed({ alerts, selectedId, rows, width, c, state }: { alerts: WatchAlert[]; selectedId?: string; rows: number; width: number; c: Paint; state: WatchState }) {
  const at = Math.max(0, alerts.findIndex((a) => a.id === selectedId))
  const start = Math.max(0, Math.min(at - Math.floor(rows / 2), alerts.length - rows))
  const window = alerts.slice(start, start + Math.max(0, rows))
  const layout = alertLayout(width - 2)
  const empty =
    state.feed.state === 'live'
      ? 'No alerts yet. New anomalies appear here the moment they are detected.'
      : `No alerts yet. The live feed (${state.via}) is ${state.feed.state}: polling PostgreSQL for new anomalies meanwhile.`
  return (
    <Panel title={fitText(width - 2, `Alerts, newest first${alerts.length > rows ? ` (${start + 1}–${start + window.length} of ${alerts.length})` : ''}`, `Alerts${alerts.length > rows ? ` ${start + 1}–${start + window.length} of ${alerts.length}` : ''}`)} width={width} grow>
      {window.length === 0 ? <Text dimColor>{empty}</Text> : null}
      {window.map((a) => (
        <AlertRow key={a.id} alert={a} selected={a.id === selectedId} c={c} layout={layout} />
      ))}
    </Panel>
  )
}

interface AlertLayout {
  time: boolean
  status: boolean
  ratio: boolean
  count: boolean
  keyId: boolean
  name: number
}

/**
 * Which fields of an alert row fit `inner` characters: the severity, the type and the key's
 * name (at least 12, cut with …) always; then, while they fit, its status, the time, the
 * repeat count, observed/threshold and the key id; the room left widens the name up to 24.
 */
export function alertLayout(inner: number): AlertLayout {
  const layout: AlertLayout = { time: false, status: false, ratio: false, count: false, keyId: false, name: 12 }
  let left = inner - 2 - 9 - 18 - 12 // marker, severity, type, name
  for (const [field, width] of [['status', 9], ['time', 9], ['count', 6], ['ratio', 12], ['keyId', 21]] as const) {
    if (width <= left) {
      layout[field] = true
      left -= width
    }
  }
  layout.name += Math.max(0, Math.min(12, left))
  return layout
}

function AlertRow({ alert: a, selected, c, layout }: { alert: WatchAlert; selected: boolean; c: Paint; layout: AlertLayout }) {
  const dim = a.status === 'resolved'
  const status = a.status === 'acknowledged' ? 'acked' : a.status
  return (
    <Text wrap="truncate-end" inverse={selected} dimColor={dim}>
      {selected ? '›' : ' '} {layout.time ? `${clockTime(a.detectedAt)} ` : ''}
      <Text color={dim ? undefined : c(SEVERITY_COLOUR[a.severity])} bold={a.severity === 'critical'}>
        {a.severity.toUpperCase().padEnd(8)}
      </Text>{' '}
      {a.type.padEnd(17)} {layout.status ? `${status.padEnd(8)} ` : ''}
      {layout.ratio ? `${`${compactNumber(a.observed)}/${compactNumber(a.threshold)}`.padEnd(11)} ` : ''}
      {layout.count ? `${`×${a.count}`.padEnd(5)} ` : ''}
      {layout.keyId ? `${shorten(a.keyName, layout.name).padEnd(layout.name)} ${a.keyId}` : shorten(a.keyName, layout.name)}
    </Text>
  )
}

function Counts({ state, c, width }: { state: WatchState; c: Paint; width: number }) {
  const counts = state.snapshot?.counts
  const total = String(counts?.total ?? '…')
  return (
    <Panel title={fitText(width - 2, `Unresolved anomalies: ${total}`, `Unresolved: ${total}`)} height={11}>
      {[...SEVERITIES].reverse().map((s) => (
        <Text key={s} wrap="truncate-end">
          <Text color={c(SEVERITY_COLOUR[s])}>{s.padEnd(18)}</Text>
          {String(counts?.bySeverity[s] ?? 0).padStart(6)}
        </Text>
      ))}
      {ANOMALY_TYPES.map((t) => (
        <Text key={t} wrap="truncate-end">
          {t.padEnd(18)}
          {String(counts?.byType[t] ?? 0).padStart(6)}
        </Text>
      ))}
    </Panel>
  )
}

function LockedOut({ state, rows, width }: { state: WatchState; rows: number; width: number }) {
  const ips = state.snapshot?.lockedOutIps
  const room = Math.min(24, width - 2 - 7) // the seconds left take 7
  const lines =
    ips === null ? [fitText(width - 2, 'unknown: Redis is unreachable', 'unknown: no Redis')] : !ips ? ['…'] : ips.length === 0 ? ['none'] : ips.map((l) => `${shorten(l.ip, room).padEnd(room)} ${String(l.retryAfterSeconds).padStart(5)}s`)
  const shown = lines.slice(0, Math.max(1, rows))
  if (lines.length > shown.length) shown[shown.length - 1] = `… and ${lines.length - shown.length + 1} more`
  return (
    <Panel title={`Locked-out IPs${ips ? `: ${ips.length}` : ''}`} grow>
      {shown.map((l, i) => (
        <Text key={i} wrap="truncate-end" dimColor={!ips || ips.length === 0}>
          {l}
        </Text>
      ))}
    </Panel>
  )
}

/**
 * The last minutes as two sparklines (all, failed) and a numbers line, as many minutes as
 * fit; the title and the numbers say how many. With three rows (24-row terminals) the
 * numbers line goes, the failure sparkline stays.
 */
function Traffic({ state, width, rows, c }: { state: WatchState; width: number; rows: number; c: Paint }) {
  const inner = Math.max(10, width - 4)
  const all = state.snapshot?.perMinute ?? []
  const minutes = all.slice(-(inner - 5))
  const totals = minutes.map((m) => m.ok + m.fail)
  const fails = minutes.map((m) => m.fail)
  const now = compactNumber(totals.at(-1) ?? 0)
  const peak = compactNumber(Math.max(0, ...totals))
  const failed = compactNumber(fails.reduce((a, b) => a + b, 0))
  const span = minutes.length || 30
  return (
    <Panel title={fitText(width - 2, `Validations per minute (last ${span} min)`, `Validations/min (last ${span} min)`, `Validations/min (${span} min)`)} width={width}>
      <Text wrap="truncate-end">
        <Text dimColor>all  </Text>
        <Text color={c('green')}>{sparkline(totals, inner - 5)}</Text>
      </Text>
      {rows >= 3 ? (
        <Text wrap="truncate-end">
          <Text dimColor>fail </Text>
          <Text color={c('red')}>{sparkline(fails, inner - 5)}</Text>
        </Text>
      ) : null}
      {rows >= 4 ? <Text wrap="truncate-end">{fitText(width - 2, `now ${now}/min · peak ${peak}/min · failures ${failed}`, `now ${now} · peak ${peak} · fail ${failed}`)}</Text> : null}
    </Panel>
  )
}

function TopKeys({
  titles,
  width,
  keys,
  rows,
  shared,
  value,
}: {
  titles: string[]
  width: number
  keys?: { keyId: string; name: string | null; total: number; failures: number }[]
  rows: number
  shared: ReadonlySet<string>
  value: (k: { total: number; failures: number }) => number
}) {
  const list = (keys ?? []).slice(0, rows - 1)
  return (
    <Panel title={fitText(width - 2, ...titles)} width={width}>
      {keys && list.length === 0 ? <Text dimColor>no traffic</Text> : null}
      {list.map((k) => (
        <Text key={k.keyId} wrap="truncate-end">
          {compactNumber(value(k)).padStart(6)} {keyLabel(k, shared, width - 2 - 7)}
        </Text>
      ))}
    </Panel>
  )
}

/**
 * The key help, or the `d` question: on its own line, with its y / n always in view (the
 * key's name gives way first), and what disabling does on the line below.
 */
function Footer({ state, c, width }: { state: WatchState; c: Paint; width: number }) {
  const tone = state.message?.tone === 'error' ? 'red' : state.message?.tone === 'ok' ? 'green' : undefined
  const confirm = state.confirm
  const question = confirm && `Disable key ${confirm.keyId} (${shorten(confirm.keyName, Math.max(4, width - `Disable key ${confirm.keyId} ()? y / n`.length))})? y / n`
  return (
    <Box flexDirection="column" height={2}>
      {question ? (
        <Text color={c('yellow')} bold wrap="truncate-end">
          {question}
        </Text>
      ) : (
        <Text dimColor wrap="truncate-end">
          {fitText(width, '↑/↓ select · a acknowledge · r resolve · d disable key · f severity filter · p pause · q quit', '↑/↓ select · a ack · r resolve · d disable key · f filter · p pause · q quit')}
        </Text>
      )}
      {question && !state.busy ? (
        <Text color={c('yellow')} wrap="truncate-end">
          {fitText(width, 'Every validation of it will fail until `momentry api-key enable`.', 'Its validations fail until `momentry api-key enable`.')}
        </Text>
      ) : (
        <Text color={c(tone)} wrap="truncate-end">
          {state.busy ? 'working…' : (state.message?.text ?? ' ')}
        </Text>
      )}
    </Box>
  )
}
