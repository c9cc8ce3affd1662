import os from 'node:os'

import type { Clock } from './clock.js'
import { systemClock } from './clock.js'
import type { Config } from './config.js'
import type { Sql } from './db/connect.js'
import type { EventBus } from './events.js'
import { createEventBus } from './events.js'
import type { Logger } from './log.js'
import { silentLogger } from './log.js'
import type { Redis } from './redis.js'
import { ValidationRuntime } from './validation/runtime.js'

/**
 * Everything a core function depends on, passed in explicitly. The core keeps no
 * module-level state: two contexts in one process are fully independent.
 */
export interface CoreContext {
  readonly sql: Sql
  /** Redis when configured and reachable; undefined in no-Redis mode. Connected on first use. */
  redis(): Promise<Redis | undefined>
  readonly bus: EventBus
  readonly config: Config
  readonly clock: Clock
  readonly log: Logger
  /** Who is acting, recorded in audit rows and created_by (e.g. `cli:alice`). */
  readonly actor: string
  /** Validation state: key cache, lockout counting, usage buffer, blacklist mirror. */
  readonly validation: ValidationRuntime
}

export interface ContextOptions {
  config: Config
  sql: Sql
  redis?: () => Promise<Redis | undefined>
  bus?: EventBus
  clock?: Clock
  log?: Logger
  actor?: string
}

/**
 * Build a context for library use; the caller owns (and closes) the connections it passes.
 * A long-running caller should `await ctx.validation.start()` once (in-memory mirrors,
 * cross-process invalidation, periodic usage flush) and `await ctx.validation.close()`
 * at shutdown (flushes buffered usage).
 */
export function createContext(options: ContextOptions): CoreContext {
  const log = options.log ?? silentLogger
  const base = {
    sql: options.sql,
    redis: options.redis ?? (async () => undefined),
    bus: options.bus ?? createEventBus(log),
    config: options.config,
    clock: options.clock ?? systemClock,
    log,
    actor: options.actor ?? defaultActor(),
  }
  return { ...base, validation: new ValidationRuntime({ ...base, sql: () => options.sql }) }
}

/** `cli:<os user>`; falls back to $USER where the passwd entry is missing (containers). */
export function defaultActor(prefix = 'cli'): string {
  let user: string | undefined
  try {
    user = os.userInfo().username
  } catch {
    user = process.env.USER
  }
  return `${prefix}:${user || 'unknown'}`
}
