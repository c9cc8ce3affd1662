import type { ConfigEntry } from '../core/config.js'
import type { MigrationState } from '../core/db/migrate.js'
import type { DoctorReport } from '../core/doctor.js'
import { paint } from './paint.js'
import { renderTable, shortTime } from './table.js'

const MARK = { ok: paint('green', '✓'), warn: paint('yellow', '!'), fail: paint('red', '✗') }

export function renderDoctor(r: DoctorReport): string {
  const lines = r.checks.map((c) => `${MARK[c.status]} ${c.name.padEnd(10)} ${c.detail}${c.fix ? ` — ${c.fix}` : ''}`)
  return [`mode: ${r.mode}`, ...lines].join('\n')
}

export function renderConfig(entries: ConfigEntry[]): string {
  return renderTable(['variable', 'value', 'source'], entries.map((e) => [e.name, e.value ?? '—', e.source]))
}

export function renderMigrations(states: MigrationState[]): string {
  return renderTable(['id', 'migration', 'state', 'applied'], states.map((s) => [String(s.id).padStart(4, '0'), s.name, s.state, shortTime(s.appliedAt)]))
}
