import { SEVERITIES } from '../../core/anomalies/anomaly-view.js'
import type { FeedState } from '../../core/watch/alert-feed.js'
import type { AnomalyAlert } from '../../core/anomalies/anomaly-view.js'
import type { DashboardSnapshot, WatchAlert } from '../../core/watch/dashboard.js'
import type { PostgresState } from '../../core/watch/watch.js'

/** `f` cycles the minimum severity shown, in the core's order (low … critical). */
const FILTERS = SEVERITIES
export type SeverityFilter = (typeof SEVERITIES)[number]

/** The feed keeps this many alerts (one per anomaly, newest first); older ones fall off. */
export const MAX_ALERTS = 200

export interface Connection<S extends string> {
  state: S
  detail?: string
  /** When it came back after being down: the dashboard shows that it reconnected. */
  reconnectedAt?: string
}

export interface WatchState {
  channel: string
  /** Where live alerts come from. */
  via: 'Redis' | 'PostgreSQL'
  alerts: WatchAlert[]
  snapshot?: DashboardSnapshot
  feed: Connection<FeedState>
  postgres: Connection<PostgresState>
  /** Alerts received since start (live or polled), including repeats. */
  received: number
  filter: SeverityFilter
  paused: boolean
  /** Alerts that arrived while paused; merged in when unpaused. */
  held: number
  selectedId?: string
  confirm?: { keyId: string; keyName: string; anomalyId: string }
  message?: { text: string; tone: 'ok' | 'error' | 'info' }
  busy: boolean
}

export interface WatchActions {
  acknowledge(anomalyId: string): Promise<unknown>
  resolve(anomalyId: string): Promise<unknown>
  disableKey(keyId: string, anomalyId: string): Promise<unknown>
  quit(): void
}

export interface KeyPress {
  upArrow?: boolean
  downArrow?: boolean
  escape?: boolean
  return?: boolean
  ctrl?: boolean
}

const rank = (s: string) => SEVERITIES.indexOf(s as SeverityFilter)

/** Newest first by detection time; ties keep their order. */
const byNewest = (a: WatchAlert, b: WatchAlert) => b.detectedAt.localeCompare(a.detectedAt)

/**
 * The dashboard's state, outside React so every rule here is testable without a
 * terminal: alerts merge by anomaly id (a repeat moves it to the top and bumps its
 * count), the feed is bounded, pause holds updates, and key presses become actions.
 * Listeners are told at most every `notifyMs`, so a burst of alerts costs one render.
 */
export class WatchModel {
  private state: WatchState
  private readonly listeners = new Set<() => void>()
  private pending: (AnomalyAlert | WatchAlert)[] = []
  private pendingSnapshot?: DashboardSnapshot
  private timer?: NodeJS.Timeout

  constructor(
    feed: { channel: string; via: 'Redis' | 'PostgreSQL' },
    private readonly actions: WatchActions,
    private readonly notifyMs = 50,
  ) {
    this.state = {
      channel: feed.channel,
      via: feed.via,
      alerts: [],
      feed: { state: 'connecting' },
      postgres: { state: 'connecting' },
      received: 0,
      filter: 'low',
      paused: false,
      held: 0,
      busy: false,
    }
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  getState = (): WatchState => this.state

  /** The alerts the filter lets through, in display order. */
  visible(state: WatchState = this.state): WatchAlert[] {
    const min = rank(state.filter)
    return state.alerts.filter((a) => rank(a.severity) >= min)
  }

  selected(state: WatchState = this.state): WatchAlert | undefined {
    const list = this.visible(state)
    return list.find((a) => a.id === state.selectedId) ?? list[0]
  }

  alert(alert: AnomalyAlert | WatchAlert): void {
    if (this.state.paused) {
      if (this.pending.length >= MAX_ALERTS) this.pending.shift()
      this.pending.push(alert)
      this.set({ received: this.state.received + 1, held: this.state.held + 1 })
      return
    }
    this.set({ received: this.state.received + 1, alerts: mergeAlerts(this.state.alerts, [alert]) })
  }

  snapshot(snapshot: DashboardSnapshot): void {
    if (this.state.paused) {
      this.pendingSnapshot = snapshot
      return
    }
    this.set({ snapshot, alerts: reconcile(this.state.alerts, snapshot) })
  }

  feed(state: FeedState, detail?: string): void {
    this.set({ feed: nextConnection(this.state.feed, state, detail, 'live', ['down', 'reconnecting']) })
  }

  postgres(state: PostgresState, detail?: string): void {
    this.set({ postgres: nextConnection(this.state.postgres, state, detail, 'live', ['down']) })
  }

  say(text: string, tone: 'ok' | 'error' | 'info' = 'info'): void {
    this.set({ message: { text, tone } })
  }

  /** One key press, as ink's useInput reports it. */
  key(input: string, key: KeyPress = {}): void {
    const s = this.state
    if (s.confirm) {
      if (input === 'y' || input === 'Y') void this.run(() => this.actions.disableKey(s.confirm!.keyId, s.confirm!.anomalyId), `disabled ${s.confirm.keyId}`, { confirm: undefined })
      else if (input === 'n' || input === 'N' || key.escape) this.set({ confirm: undefined, message: { text: 'not disabled', tone: 'info' } })
      return
    }
    if (input === 'q' || (key.ctrl && input === 'c')) return this.actions.quit()
    if (key.upArrow || key.downArrow || input === 'k' || input === 'j') return this.move(key.upArrow || input === 'k' ? -1 : 1)
    if (input === 'f') {
      const filter = FILTERS[(FILTERS.indexOf(s.filter) + 1) % FILTERS.length]!
      return this.set({ filter, message: { text: filter === 'low' ? 'showing every severity' : `showing ${filter} and above`, tone: 'info' } })
    }
    if (input === 'p') return this.togglePause()
    const target = this.selected()
    if (!['a', 'r', 'd'].includes(input)) return
    if (!target) return this.say('no alert selected', 'error')
    if (s.busy) return this.say('still working on the last action', 'info')
    if (input === 'a') {
      if (target.status !== 'open') return this.say(`${target.id} is ${target.status}; only open anomalies can be acknowledged`, 'error')
      void this.run(() => this.actions.acknowledge(target.id), `acknowledged ${target.id}`, {}, target.id, 'acknowledged')
    } else if (input === 'r') {
      if (target.status === 'resolved') return this.say(`${target.id} is already resolved`, 'error')
      void this.run(() => this.actions.resolve(target.id), `resolved ${target.id}`, {}, target.id, 'resolved')
    } else {
      this.set({ confirm: { keyId: target.keyId, keyName: target.keyName, anomalyId: target.id }, message: undefined })
    }
  }

  private move(delta: number): void {
    const list = this.visible()
    if (list.length === 0) return
    const at = Math.max(0, list.findIndex((a) => a.id === this.selected()?.id))
    const next = list[Math.min(list.length - 1, Math.max(0, at + delta))]!
    this.set({ selectedId: next.id })
  }

  private togglePause(): void {
    if (!this.state.paused) return this.set({ paused: true, message: { text: 'paused: new alerts are held (p to resume)', tone: 'info' } })
    const held = this.pending
    this.pending = []
    let alerts = mergeAlerts(this.state.alerts, held)
    const snapshot = this.pendingSnapshot ?? this.state.snapshot
    if (this.pendingSnapshot) alerts = reconcile(alerts, this.pendingSnapshot)
    this.pendingSnapshot = undefined
    this.set({ paused: false, held: 0, alerts, snapshot, message: { text: `resumed (${held.length} held alerts merged)`, tone: 'info' } })
  }

  private async run(action: () => Promise<unknown>, done: string, patch: Partial<WatchState>, id?: string, status?: WatchAlert['status']): Promise<void> {
    this.set({ ...patch, busy: true })
    try {
      await action()
      const alerts = id && status ? this.state.alerts.map((a) => (a.id === id ? { ...a, status } : a)) : this.state.alerts
      this.set({ busy: false, alerts, message: { text: done, tone: 'ok' } })
    } catch (error) {
      const e = error as Error & { line?: string }
      this.set({ busy: false, message: { text: e.line ?? e.message, tone: 'error' } })
    }
  }

  private set(patch: Partial<WatchState>): void {
    this.state = { ...this.state, ...patch }
    if (this.notifyMs <= 0) return this.notify()
    this.timer ??= setTimeout(() => this.notify(), this.notifyMs)
  }

  private notify(): void {
    this.timer = undefined
    for (const l of this.listeners) l()
  }

  /** Stop any pending notification (on exit). */
  close(): void {
    clearTimeout(this.timer)
  }
}

function nextConnection<S extends string>(prev: Connection<S>, state: S, detail: string | undefined, up: S, downStates: S[]): Connection<S> {
  const recovered = state === up && downStates.includes(prev.state)
  return { state, detail, reconnectedAt: recovered ? new Date().toISOString() : state === up ? prev.reconnectedAt : undefined }
}

/** Merge alerts into the feed: one row per anomaly, a repeat moves it to the top. */
export function mergeAlerts(current: WatchAlert[], incoming: (AnomalyAlert | WatchAlert)[]): WatchAlert[] {
  if (incoming.length === 0) return current
  const known = new Map(current.map((a) => [a.id, a]))
  const fresh = new Map<string, WatchAlert>()
  for (const alert of incoming) {
    const before = fresh.get(alert.id) ?? known.get(alert.id)
    const full = 'status' in alert
    fresh.delete(alert.id)
    fresh.set(alert.id, {
      ...alert,
      status: full ? alert.status : before?.status === 'acknowledged' ? 'acknowledged' : 'open',
      count: full ? alert.count : (before?.count ?? 0) + 1,
    })
  }
  // Latest arrival first, so that alerts detected in the same millisecond still read newest first.
  const merged = [...[...fresh.values()].reverse(), ...current.filter((a) => !fresh.has(a.id))]
  return merged.sort(byNewest).slice(0, MAX_ALERTS)
}

/**
 * Bring the feed in line with PostgreSQL: unresolved anomalies it has not seen join it,
 * known ones take the stored status and count, and ones that are no longer unresolved
 * (resolved elsewhere) are shown as resolved.
 */
export function reconcile(current: WatchAlert[], snapshot: DashboardSnapshot): WatchAlert[] {
  const stored = new Map(snapshot.anomalies.map((a) => [a.id, a]))
  // A snapshot that is not truncated, read well after an alert, is proof it was resolved.
  const complete = snapshot.anomalies.length < snapshot.limit
  const settled = new Date(Date.parse(snapshot.at) - 5000).toISOString()
  const kept = current.map((a) => {
    const s = stored.get(a.id)
    if (s) {
      stored.delete(a.id)
      return s.detectedAt >= a.detectedAt ? s : { ...a, status: s.status, count: Math.max(a.count, s.count) }
    }
    return complete && a.detectedAt <= settled && a.status !== 'resolved' ? { ...a, status: 'resolved' as const } : a
  })
  return [...kept, ...stored.values()].sort(byNewest).slice(0, MAX_ALERTS)
}
