import type { AuthStatusEntry, LoginResult } from '../core/credentials/auth.js'
import type { GiteaVerifyResult } from '../core/gitea/gitea-client.js'
import type { DeletedGiteaToken, GiteaTokenList, IssuedGiteaToken, RotatedGiteaToken } from '../core/gitea/gitea-tokens.js'
import type { N8nVerifyResult } from '../core/n8n/n8n-client.js'
import type { DeletedN8nKey, IssuedN8nKey, N8nKeyList, RotatedN8nKey } from '../core/n8n/n8n-keys.js'
import { paint } from './paint.js'
import type { Column } from './table.js'
import { renderTable, shortTime } from './table.js'
import { timeFromNow } from './time.js'

export function renderLogin(r: LoginResult): string {
  const where = r.store === 'keychain' ? 'the OS keychain' : `${r.file} (mode 0600)`
  const env = r.overriddenByEnv ? ` Note: ${r.service === 'gitea' ? 'GITEA_USERNAME/GITEA_PASSWORD' : 'N8N_EMAIL/N8N_PASSWORD'} are set and win over the stored credentials.` : ''
  return `Logged in to ${r.service} at ${r.url} as ${r.username}; credentials stored in ${where}.${env}`
}

export function renderAuthStatus(r: { services: AuthStatusEntry[]; store: { mode: string; file: string } }): string {
  const rows = r.services.map((s) => [s.service, s.source === 'none' ? paint('yellow', 'none') : s.source, s.url + (s.urlSource === 'default' ? ' (default)' : ''), s.username ?? '—'])
  return `${renderTable(['service', 'credentials from', 'url', 'user'], rows)}\nstore: ${r.store.mode} (file fallback: ${r.store.file})`
}

export function renderStoredSecrets(r: { items: { account: string; source: string }[]; store: { mode: string; file: string } }): string {
  const footer = `store: ${r.store.mode} (file fallback: ${r.store.file})`
  if (r.items.length === 0) return `Nothing stored.\n${footer}`
  return `${renderTable(['account', 'stored in'], r.items.map((a) => [a.account, a.source === 'file' ? `file (${r.store.file})` : a.source]))}\n${footer}`
}

export function renderLogout(r: { service: string; removed: string[] }): string {
  return r.removed.length ? `Removed the stored ${r.service} credentials (${r.removed.join(', ')}).` : `No stored ${r.service} credentials to remove.`
}

const drift = (d: 'gone' | 'untracked' | null) => (d === 'gone' ? paint('red', 'gone from server') : d === 'untracked' ? paint('yellow', 'untracked') : '—')

export function renderGiteaIssued(r: IssuedGiteaToken): { stdout: string; stderr: string } {
  return {
    stdout: r.secret,
    stderr: `Created Gitea token ${r.token.id} (${r.token.name}) for ${r.token.user}, scopes ${r.token.scopes.join(',')}. The token above is shown once: store it now, momentry keeps only its last eight characters.`,
  }
}

const GITEA_COLUMNS: Column[] = [
  { head: 'id', priority: 1 },
  { head: 'name', priority: 1, shrink: 10 },
  { head: 'scopes', priority: 3, shrink: 10 },
  { head: 'token', priority: 4 },
  { head: 'created', priority: 6 },
  { head: 'by', priority: 5, shrink: 8 },
  { head: 'drift', priority: 2 },
]

/** `width`: the terminal's, to fit it (see renderTable); none draws every column. */
export function renderGiteaList(r: GiteaTokenList, width?: number): string {
  const summary = `${r.items.length} token(s) of ${r.user} at ${r.url}; drift: ${r.drift.gone} gone, ${r.drift.untracked} untracked`
  if (r.items.length === 0) return summary
  const rows = r.items.map((t) => [t.id, t.name, t.scopes.join(',') || '—', `…${t.lastEight}`, shortTime(t.createdAt), t.createdBy ?? '—', drift(t.drift)])
  return `${renderTable(GITEA_COLUMNS, rows, { width })}\n${summary}`
}

export function renderGiteaDeleted(r: DeletedGiteaToken): string {
  if (r.alreadyGone) return `Gitea token ${r.id} of ${r.user} was already gone from Gitea; momentry no longer tracks it.`
  return `Deleted Gitea token ${r.id} of ${r.user}${r.tracked ? '' : ' (it was not tracked by momentry)'}.`
}

export function renderGiteaRotated(r: RotatedGiteaToken): { stdout: string; stderr: string } {
  const old = r.previous.deleted ? `the old token ${r.previous.id} is deleted` : `the old token ${r.previous.id} could NOT be deleted: ${r.previous.error?.message}`
  return { stdout: r.secret, stderr: `Rotated to Gitea token ${r.token.id} (${r.token.name}); ${old}. The new token above is shown once: store it now.` }
}

export function renderGiteaVerify(r: GiteaVerifyResult): string {
  if (r.status === 'valid') return `valid: belongs to ${r.login}`
  if (r.status === 'insufficient_scope') return `valid but lacks read:user, so momentry cannot see whose it is (403: ${r.message})`
  if (r.status === 'refused') return `refused: Gitea will not accept it for its user (403: ${r.message})`
  return r.status === 'malformed' ? 'invalid: not a token (printable ASCII, no blanks)' : 'invalid: Gitea does not accept this token (401; unknown or deleted)'
}

export function renderN8nIssued(r: IssuedN8nKey): { stdout: string; stderr: string } {
  const expires = r.key.expiresAt ? `expires ${timeFromNow(r.key.expiresAt)}` : 'no expiry'
  return {
    stdout: r.secret,
    stderr: `Created n8n API key ${r.key.id} (${r.key.label}), scopes ${r.key.scopes.join(',')}, ${expires}. The key above is shown once: store it now, momentry keeps only its last four characters.`,
  }
}

const N8N_COLUMNS: Column[] = [
  { head: 'id', priority: 1 },
  { head: 'label', priority: 1, shrink: 10 },
  { head: 'owner', priority: 5, shrink: 10 },
  { head: 'scopes', priority: 4, shrink: 10 },
  { head: 'key', priority: 6 },
  { head: 'created', priority: 7 },
  { head: 'expires', priority: 3 },
  { head: 'drift', priority: 2 },
]

/** `width`: the terminal's, to fit it (see renderTable); none draws every column. */
export function renderN8nList(r: N8nKeyList, width?: number): string {
  const others = r.otherUsers ? `; ${r.otherUsers} of other n8n users (their drift is visible only to them)` : ''
  const partial = r.complete ? '' : '; n8n sent only part of its list, so no key is called gone'
  const summary = `${r.items.length} key(s) at ${r.url} seen as ${r.user}; drift: ${r.drift.gone} gone, ${r.drift.untracked} untracked${others}${partial}`
  const unknown = (owner: string | null) => (owner && owner.toLowerCase() !== r.user.toLowerCase() ? 'other user' : 'unknown')
  if (r.items.length === 0) return summary
  const rows = r.items.map((k) => [
    k.id,
    k.label,
    k.owner ?? '?',
    k.scopes.join(',') || '—',
    `…${k.last4}`,
    shortTime(k.createdAt),
    shortTime(k.expiresAt),
    k.onServer === null ? paint('gray', unknown(k.owner)) : drift(k.drift),
  ])
  return `${renderTable(N8N_COLUMNS, rows, { width })}\n${summary}`
}

export function renderN8nDeleted(r: DeletedN8nKey): string {
  if (r.alreadyGone) return `n8n API key ${r.id} (${r.label}) was already gone from n8n; momentry no longer tracks it.`
  return `Deleted n8n API key ${r.id} (${r.label}); n8n no longer lists it${r.tracked ? '' : ' (it was not tracked by momentry)'}.`
}

export function renderN8nRotated(r: RotatedN8nKey): { stdout: string; stderr: string } {
  const old = r.previous.deleted ? `the old key ${r.previous.id} is deleted` : `the old key ${r.previous.id} could NOT be deleted: ${r.previous.error?.message}`
  return { stdout: r.secret, stderr: `Rotated to n8n API key ${r.key.id} (${r.key.label}); ${old}. The new key above is shown once: store it now.` }
}

export function renderN8nVerify(r: N8nVerifyResult): string {
  if (r.status === 'valid') return 'valid (n8n accepted the key; unlicensed n8n does not enforce scopes)'
  if (r.status === 'insufficient_scope') return `valid but lacks workflow:list (403: ${r.message})`
  return r.status === 'malformed' ? `invalid: ${r.message}` : `invalid: n8n does not accept this key (401: ${r.message}; unknown, deleted or expired)`
}
