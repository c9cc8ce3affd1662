import { printable } from '../core/printable.js'
import type { ActedFinding, LeakReport } from '../core/scan/respond.js'
import type { StagedCheck } from '../core/scan/staged.js'
import { renderSarif } from './sarif.js'
import type { Column } from './table.js'
import { renderTable } from './table.js'

export const SCAN_FORMATS = ['table', 'json', 'sarif'] as const
export type ScanFormat = (typeof SCAN_FORMATS)[number]

const COLUMNS: Column[] = [
  { head: 'where', priority: 1, shrink: 20 },
  { head: 'commit', priority: 4 },
  { head: 'stub', priority: 2 },
  { head: 'id', priority: 1 },
  { head: 'name', priority: 5, shrink: 10 },
  { head: 'type', priority: 6 },
  { head: 'status', priority: 1 },
  { head: 'action', priority: 3 },
]

const where = (f: ActedFinding) => `${f.location.path ?? 'stdin'}:${f.location.line}`

/** One row per place a key was found; live keys first. */
export function renderScanTable(r: Pick<LeakReport, 'items'>, width?: number): string {
  const rows = [...r.items]
    .sort((a, b) => Number(b.live) - Number(a.live))
    .map((f) => [where(f), f.location.commit?.slice(0, 12) ?? '', f.stub, f.keyId ?? '', f.name ?? '', f.type, f.status, f.action === 'none' ? '' : f.action])
  const heads = r.items.some((f) => f.location.commit) ? COLUMNS : COLUMNS.filter((c) => c.head !== 'commit')
  const keep = heads.map((h) => COLUMNS.indexOf(h))
  return renderTable(heads, rows.map((row) => keep.map((i) => row[i]!)), { width })
}

/** The human summary (stderr): what was read, what was found, what was done. */
export function scanSummary(r: LeakReport): string {
  const s = r.scanned
  const skipped = Object.entries(s.skipped).filter(([, n]) => n > 0).map(([why, n]) => `${n} ${why.replace('_', ' ')}`)
  const read = `Scanned ${s.files} file(s), ${(s.bytes / 1048576).toFixed(1)} MB${skipped.length ? ` (skipped: ${skipped.join(', ')})` : ''}.`
  const c = r.candidates
  const services = c.checked > 0 ? ` Asked Gitea/n8n about ${c.checked} candidate(s): ${c.confirmed} confirmed, ${c.refused} refused, ${c.unconfirmed} could not be asked.` : ''
  if (r.items.length === 0) return `${read}${services} No momentry key found.`
  const acted = r.items.filter((f) => f.action === 'revoked' || f.action === 'rotated' || f.action === 'deleted')
  const keys = new Set(acted.map((f) => `${f.credential}:${f.keyId}`)).size
  const failed = r.items.filter((f) => f.action === 'failed' || f.action === 'no_session').length
  const verdict = r.live > 0 ? `${r.live} live key finding(s): act now (\`momentry scan --revoke\`, or \`api-key rotate --force\`).` : 'None of them is live.'
  const unconfirmed = r.unconfirmed > 0 ? ` ${r.unconfirmed} Gitea/n8n finding(s) could not be confirmed (the service did not answer): treat them as live until checked.` : ''
  const notDone = failed > 0 ? ` ${failed} finding(s) could not be acted on: see the action column.` : ''
  return `${read}${services} ${r.items.length} key finding(s). ${keys > 0 ? `${keys} key(s) ${acted[0]!.action} now.` : verdict}${notDone}${unconfirmed}`
}

type Secretless<T> = Omit<T, 'secret'>

/** The report as it may be written anywhere: rotated credentials without their new secrets. */
export function withoutSecrets(r: LeakReport): Omit<LeakReport, 'rotated' | 'rotatedServices'> & {
  rotated: Secretless<LeakReport['rotated'][number]>[]
  rotatedServices: Secretless<LeakReport['rotatedServices'][number]>[]
} {
  return { ...r, rotated: r.rotated.map(({ secret: _secret, ...rest }) => rest), rotatedServices: r.rotatedServices.map(({ secret: _secret, ...rest }) => rest) }
}

export function renderScan(r: Parameters<typeof renderScanTable>[0], format: ScanFormat, o: { version: string; width?: number }): string {
  if (format === 'sarif') return renderSarif(r, o.version)
  if (format === 'json') return JSON.stringify(r, null, 2)
  return renderScanTable(r, o.width)
}

const BYPASS = 'commit anyway, knowingly: git commit --no-verify'

/**
 * The pre-commit hook's words (stderr): one line per key the commit would add, naming the
 * file, line and stub (never the key), and for one that stops the commit what to do. A path
 * is de-fanged first: a file name is the committer's text, not the terminal's.
 */
export function renderStagedCheck(r: StagedCheck): string {
  const lines = r.items.map((f) => {
    const at = `${printable(f.path, 200)}:${f.line}`
    const key = `${f.stub}…${f.keyId ? ` (${f.keyId}${f.name ? ` "${printable(f.name, 60)}"` : ''}, ${f.status})` : ''}`
    if (f.status === 'unchecked') return `momentry: commit refused: ${at} adds the momentry key ${key}, and ${r.offlineReason ?? 'the database cannot be asked'}, so it may be live. Take it out of the staged changes, or ${BYPASS}`
    if (f.blocks) return `momentry: commit refused: ${at} adds the ${f.status === 'disabled' ? 'disabled (it can be enabled again)' : 'live'} key ${key}. Take it out of the staged changes (and revoke it if it left this machine), or ${BYPASS}`
    return `momentry: ${at} adds ${f.status === 'unknown' ? `${key}, no key of this database` : `the ${f.status} key ${key}`}: allowed`
  })
  return lines.join('\n')
}
