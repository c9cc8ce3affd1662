import * as z from 'zod'

import { KEY_ID_PATTERN } from './api-keys/key-id.js'
import type { Sql } from './db/connect.js'
import type { Logger } from './log.js'

/**
 * PostgreSQL NOTIFY channels momentry processes talk over (per database, so no prefix):
 * key and blacklist changes are sent by triggers inside the changing transaction
 * (sql/0007_notify_changes.sql), lockouts and alerts by the process that raised them. A
 * TRUNCATE (sql/0010) or an import sends FLUSH_ALL on the key and blacklist channels instead.
 */
export const PG_CHANNELS = {
  /** Payload: the key id, or FLUSH_ALL. */
  keyChanged: 'momentry_key_changed',
  /** Payload: the network (cidr text), or FLUSH_ALL. */
  blacklistChanged: 'momentry_blacklist_changed',
  /** Payload: JSON {ip, retryAfterSeconds}. */
  lockout: 'momentry_lockout',
  /** Payload: the IP whose lockout was lifted, or FLUSH_ALL (every lockout lifted: re-read them). */
  lockoutCleared: 'momentry_lockout_cleared',
  /** Payload: the alert JSON, as on the Redis channel. */
  alerts: 'momentry_alerts',
} as const

/**
 * The Redis alert channel, a public contract (SPEC §6): every anomaly detection as JSON
 * {id, keyId, keyName, type, severity, observed, threshold, windowSeconds, detectedAt}.
 */
export const redisAlertChannel = (prefix: string) => `${prefix}anomaly:alerts`

/** The payload that means "forget everything you cached from this channel's table". */
export const FLUSH_ALL = '*'

/** Messages between momentry processes, validated on receipt (anyone with database access can NOTIFY). */
export const keyChangedMessage = z.union([z.literal(FLUSH_ALL), z.string().regex(KEY_ID_PATTERN)])
export const lockoutMessage = z.object({ ip: z.string().max(64), retryAfterSeconds: z.number().int().positive() })
export const lockoutClearedMessage = z.union([z.literal(FLUSH_ALL), z.string().min(1).max(64)])

export type PgChannel = (typeof PG_CHANNELS)[keyof typeof PG_CHANNELS]

/**
 * Tell every other process, with a NOTIFY of its own on `channel` (for what happens outside a
 * changing transaction: lockouts, alerts). Never throws: the caller's work is done either way,
 * so a failure is logged, naming what was not sent (`what`).
 */
export async function notifyProcesses(ctx: { sql: Sql; log: Logger }, channel: PgChannel, payload: string, what: string): Promise<void> {
  try {
    await ctx.sql`select pg_notify(${channel}, ${payload})`
  } catch (error) {
    ctx.log.warn(`could not tell other processes of ${what} over NOTIFY (${(error as Error).message})`)
  }
}
