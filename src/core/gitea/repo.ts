import type { Queryable } from '../db/connect.js'

/** A tracked Gitea token (a live gitea_tokens row). The secret is never stored. */
export interface GiteaTokenRecord {
  tokenId: number
  user: string
  name: string
  scopes: string[]
  lastEight: string
  createdAt: Date
  createdBy: string
}

export interface NewGiteaTokenRecord extends GiteaTokenRecord {
  url: string
}

// The one column list every read returns, in the shape toRecord() expects.
const COLUMNS = 'gitea_token_id::text as token_id, username, token_name, scopes, token_last_eight, created_at, created_by'
const columns = (q: Queryable) => q.unsafe(COLUMNS)

interface Row {
  token_id: string
  username: string
  token_name: string
  scopes: string[]
  token_last_eight: string
  created_at: Date
  created_by: string
}

const toRecord = (r: Row): GiteaTokenRecord => ({
  tokenId: Number(r.token_id),
  user: r.username,
  name: r.token_name,
  scopes: r.scopes,
  lastEight: r.token_last_eight,
  createdAt: r.created_at,
  createdBy: r.created_by,
})

/** The live record of a token at one Gitea, by Gitea's id. */
export async function findTrackedGiteaToken(q: Queryable, url: string, tokenId: number): Promise<GiteaTokenRecord | undefined> {
  const [row] = await q<Row[]>`select ${columns(q)} from gitea_tokens where gitea_url = ${url} and gitea_token_id = ${tokenId} and deleted_at is null`
  return row && toRecord(row)
}

/** A user's live records at one Gitea (user names compared as Gitea does, case-insensitively), newest id first. */
export async function listTrackedGiteaTokens(q: Queryable, url: string, user: string): Promise<GiteaTokenRecord[]> {
  const rows = await q<Row[]>`
    select ${columns(q)} from gitea_tokens
    where gitea_url = ${url} and lower(username) = lower(${user}) and deleted_at is null
    order by gitea_token_id desc`
  return rows.map(toRecord)
}

/** Insert a new record (inside the transaction that also writes its audit row). */
export async function insertGiteaToken(q: Queryable, t: NewGiteaTokenRecord): Promise<GiteaTokenRecord> {
  const [row] = await q<Row[]>`
    insert into gitea_tokens (gitea_url, gitea_token_id, username, token_name, scopes, token_last_eight, created_at, created_by)
    values (${t.url}, ${t.tokenId}, ${t.user}, ${t.name}, ${t.scopes}::text[], ${t.lastEight}, ${t.createdAt}, ${t.createdBy})
    returning ${columns(q)}`
  return toRecord(row!)
}

/** Stop tracking a token; false when it was not tracked (or already deleted). */
export async function markGiteaTokenDeleted(q: Queryable, url: string, tokenId: number, at: Date): Promise<boolean> {
  const rows = await q`update gitea_tokens set deleted_at = ${at} where gitea_url = ${url} and gitea_token_id = ${tokenId} and deleted_at is null returning id`
  return rows.length > 0
}
