import { Box, Text, useInput } from 'ink'
import { useSyncExternalStore } from 'react'

import { ANOMALY_TYPES, SEVERITIES } from '../../core/anomalies/anomaly-view.js'
import type { WatchAlert } from '../../core/watch/dashboard.js'
import { SEVERITY_COLOUR } from '../anomalies.js'
import { clockTime, compactNumber, keyLabel, sharedNames, sparkline } from './format.js'
import type { Connection, WatchModel, WatchState } from './model.js'

const STATE_COLOUR: Record<string, string> = { live: 'green', connecting: 'yellow', reconnecting: 'yellow', down: 'red', off: 'gray' }
const RIGHT = 36

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
  const bottom = h >= 30 ? 7 : 5
  const top = h - 1 - 2 - bottom
  const visible = model.visible(state)
  const selected = model.selected(state)
  // A name on more than one key across both panels (rotations keep the name) gets a short id.
  const shared = sharedNames([...(state.snapshot?.topTraffic ?? []), ...(state.snapshot?.topFailures ?? [])])
  return (
    <Box flexDirection="column" width={w} height={h}>
      <Header state={state} c={c} shown={visible.length} />
      <Box height={top}>
        <Feed alerts={visible} selectedId={selected?.id} rows={top - 3} width={w - RIGHT} c={c} state={state} />
        <Box flexDirection="column" width={RIGHT}>
          <Counts state={state} c={c} />
          <LockedOut state={state} rows={top - 11 - 2} />
        </Box>
      </Box>
      <Box height={bottom}>
        <Traffic state={state} width={w - 2 * 30} rows={bottom - 2} c={c} />
        <TopKeys title="Top keys by traffic (1 h)" rows={bottom - 2} keys={state.snapshot?.topTraffic} shared={shared} value={(k) => k.total} />
        <TopKeys title="Top keys by failures (1 h)" rows={bottom - 2} keys={state.snapshot?.topFailures} shared={shared} value={(k) => k.failures} />
      </Box>
      <Footer state={state} c={c} />
    </Box>
  )
}

type Paint = (name: string | undefined) => string | undefined

function Header({ state, c, shown }: { state: WatchState; c: Paint; shown: number }) {
  return (
    <Box height={1}>
      <Text wrap="truncate-end">
        <Text bold>momentry watch</Text>
        {state.paused ? <Text color={c('yellow')} bold>{`  PAUSED (${state.held} held)`}</Text> : null}
        {'  '}
        <Status label="PostgreSQL" conn={state.postgres} c={c} />
        {'  '}
        <Status label={`alerts via ${state.via}`} conn={state.feed} c={c} />
        {'  '}
        <Text dimColor>
          alerts {state.received} · shown {shown} · filter {state.filter === 'low' ? 'all' : `≥ ${state.filter}`}
          {state.snapshot ? ` · refreshed ${clockTime(state.snapshot.at)}` : ''}
        </Text>
      </Text>
    </Box>
  )
}

function Status({ label, conn, c }: { label: string; conn: Connection<string>; c: Paint }) {
  const text = conn.state
  return (
    <Text>
      {label} <Text color={c(STATE_COLOUR[conn.state])}>● {text}</Text>
      {conn.reconnectedAt && conn.state === 'live' ? <Text dimColor>{` (reconnected ${clockTime(conn.reconnectedAt)})`}</Text> : null}
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
  const empty =
    state.feed.state === 'live'
      ? 'No alerts yet. New anomalies appear here the moment they are detected.'
      : `No alerts yet. The live feed (${state.via}) is ${state.feed.state}: polling PostgreSQL for new anomalies meanwhile.`
  return (
    <Panel title={`Alerts, newest first${alerts.length > rows ? ` (${start + 1}–${start + window.length} of ${alerts.length})` : ''}`} width={width} grow>
      {window.length === 0 ? <Text dimColor>{empty}</Text> : null}
      {window.map((a) => (
        <AlertRow key={a.id} alert={a} selected={a.id === selectedId} c={c} />
      ))}
    </Panel>
  )
}

function AlertRow({ alert: a, selected, c }: { alert: WatchAlert; selected: boolean; c: Paint }) {
  const dim = a.status === 'resolved'
  const status = a.status === 'acknowledged' ? 'acked' : a.status
  return (
    <Text wrap="truncate-end" inverse={selected} dimColor={dim}>
      {selected ? '›' : ' '} {clockTime(a.detectedAt)}{' '}
      <Text color={dim ? undefined : c(SEVERITY_COLOUR[a.severity])} bold={a.severity === 'critical'}>
        {a.severity.toUpperCase().padEnd(8)}
      </Text>{' '}
      {a.type.padEnd(17)} {status.padEnd(8)} {`${compactNumber(a.observed)}/${compactNumber(a.threshold)}`.padEnd(11)} {`×${a.count}`.padEnd(5)} {a.keyName.padEnd(16)} {a.keyId}
    </Text>
  )
}

function Counts({ state, c }: { state: WatchState; c: Paint }) {
  const counts = state.snapshot?.counts
  return (
    <Panel title={`Unresolved anomalies: ${counts?.total ?? '…'}`} height={11}>
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

function LockedOut({ state, rows }: { state: WatchState; rows: number }) {
  const ips = state.snapshot?.lockedOutIps
  const lines = ips === null ? ['unknown: Redis is unreachable'] : !ips ? ['…'] : ips.length === 0 ? ['none'] : ips.map((l) => `${l.ip.padEnd(24)} ${String(l.retryAfterSeconds).padStart(5)}s`)
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

function Traffic({ state, width, rows, c }: { state: WatchState; width: number; rows: number; c: Paint }) {
  const minutes = state.snapshot?.perMinute ?? []
  const totals = minutes.map((m) => m.ok + m.fail)
  const fails = minutes.map((m) => m.fail)
  const inner = Math.max(10, width - 4)
  const now = totals.at(-1) ?? 0
  const peak = Math.max(0, ...totals)
  const failed = fails.reduce((a, b) => a + b, 0)
  return (
    <Panel title={`Validations per minute (last ${minutes.length || 30} min)`} width={width}>
      <Text wrap="truncate-end">
        <Text dimColor>all  </Text>
        <Text color={c('green')}>{sparkline(totals, inner - 5)}</Text>
      </Text>
      {rows >= 4 ? (
        <Text wrap="truncate-end">
          <Text dimColor>fail </Text>
          <Text color={c('red')}>{sparkline(fails, inner - 5)}</Text>
        </Text>
      ) : null}
      <Text wrap="truncate-end">
        now {compactNumber(now)}/min · peak {compactNumber(peak)}/min · failures {compactNumber(failed)}
      </Text>
    </Panel>
  )
}

const TOP_WIDTH = 30

function TopKeys({
  title,
  keys,
  rows,
  shared,
  value,
}: {
  title: string
  keys?: { keyId: string; name: string | null; total: number; failures: number }[]
  rows: number
  shared: ReadonlySet<string>
  value: (k: { total: number; failures: number }) => number
}) {
  const list = (keys ?? []).slice(0, rows - 1)
  return (
    <Panel title={title} width={TOP_WIDTH}>
      {keys && list.length === 0 ? <Text dimColor>no traffic</Text> : null}
      {list.map((k) => (
        <Text key={k.keyId} wrap="truncate-end">
          {compactNumber(value(k)).padStart(6)} {keyLabel(k, shared, TOP_WIDTH - 2 - 7)}
        </Text>
      ))}
    </Panel>
  )
}

function Footer({ state, c }: { state: WatchState; c: Paint }) {
  const tone = state.message?.tone === 'error' ? 'red' : state.message?.tone === 'ok' ? 'green' : undefined
  return (
    <Box flexDirection="column" height={2}>
      {state.confirm ? (
        <Text color={c('yellow')} bold wrap="truncate-end">
          Disable key {state.confirm.keyId} ({state.confirm.keyName})? Every validation of it will fail until `momentry api-key enable`. y / n
        </Text>
      ) : (
        <Text dimColor wrap="truncate-end">
          ↑/↓ select · a acknowledge · r resolve · d disable key · f severity filter · p pause · q quit
        </Text>
      )}
      <Text color={c(tone)} wrap="truncate-end">
        {state.busy ? 'working…' : (state.message?.text ?? ' ')}
      </Text>
    </Box>
  )
}
