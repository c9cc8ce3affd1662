import type { ConfigEntry } from '../core/config.js'
import type { DatabaseStatus } from '../core/db/database-status.js'
import type { ExportSummary, ImportSummary } from '../core/db/export-import.js'
import type { MigrationState } from '../core/db/migrate.js'
import type { EmbeddedStatus } from '../core/embedded/embedded-server.js'
import type { DoctorReport } from '../core/doctor.js'
import { paint } from './paint.js'
import { renderTable, shortTime } from './table.js'

const MARK = { ok: paint('green', '✓'), warn: paint('yellow', '!'), fail: paint('red', '✗') }

export function renderDoctor(r: DoctorReport): string {
  const lines = r.checks.map((c) => `${MARK[c.status]} ${c.name.padEnd(10)} ${c.detail}${c.fix ? ` — ${c.fix}` : ''}`)
  // With an invalid environment nothing else was checked: show all of it, as `config` does.
  const config = r.checks.some((c) => c.name === 'config' && c.status === 'fail') ? ['', 'Configuration:', renderConfig(r.config), '', 'The other checks run once the configuration is valid.'] : []
  return [`mode: ${r.mode}`, ...lines, ...config].join('\n')
}

/** Every variable; an invalid one is marked in the table and explained (what is wrong, the fix) below it. */
export function renderConfig(entries: ConfigEntry[]): string {
  const table = renderTable(['variable', 'value', 'source'], entries.map((e) => [e.name, e.value ?? '—', e.problem ? `${e.source} ${MARK.fail} invalid` : e.source]))
  const problems = entries.filter((e) => e.problem).map((e) => `${MARK.fail} ${e.name}: ${e.problem}. ${e.fix}`)
  return [table, ...problems].join('\n')
}

export function renderMigrations(states: MigrationState[]): string {
  return renderTable(['id', 'migration', 'state', 'applied'], states.map((s) => [String(s.id).padStart(4, '0'), s.name, s.state, shortTime(s.appliedAt)]))
}

/** 1536 → `1.5 KB`, 48_000_000 → `45.8 MB`. */
export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let i = 0
  let v = n
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`
}

/** The embedded server in a few lines: state, pid, socket, data directory, size, versions. */
export function renderEmbedded(s: EmbeddedStatus): string {
  return [
    `state:     ${s.state}${s.pid ? ` (pid ${s.pid})` : ''}`,
    `socket:    ${s.socket}`,
    `data:      ${s.dataDir} (${formatBytes(s.sizeBytes)})`,
    `version:   PostgreSQL ${s.engineVersion?.split('.').slice(0, 2).join('.') ?? 'not installed'}${s.dataVersion !== null ? `, data directory of PostgreSQL ${s.dataVersion}` : ''}`,
  ].join('\n')
}

export function renderDatabaseStatus(s: DatabaseStatus): string {
  const head = s.mode === 'embedded' ? ['mode:      embedded (no DATABASE_URL)', renderEmbedded(s.embedded!)] : [`mode:      server (DATABASE_URL=${s.url})`]
  const schema = s.migrations
    ? [renderMigrations(s.migrations), s.current ? 'Up to date.' : 'Not current: run `momentry db migrate`.']
    : ['Migrations: not checked while the embedded server is stopped (`momentry db start` starts it; any command does).']
  return [...head, ...schema].join('\n')
}

const rowCounts = (rows: Record<string, number>) =>
  Object.entries(rows)
    .filter(([, n]) => n > 0)
    .map(([t, n]) => `${t} ${n}`)
    .join(', ') || 'no rows'

export function renderExport(s: ExportSummary): string {
  return `Exported the ${s.source} database to ${s.file} (${formatBytes(s.bytes)}, 0600: it holds webhook signing secrets): ${rowCounts(s.rows)}.`
}

export function renderImport(s: ImportSummary): string {
  return `Imported ${s.file}${s.replaced ? ' (the database was emptied first)' : ''}: ${rowCounts(s.rows)}.`
}
