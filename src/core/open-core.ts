import { defaultActor } from './actor.js'
import { AuditKeyring } from './audit/audit-keys.js'
import type { Clock } from './clock.js'
import { systemClock } from './clock.js'
import type { Config } from './config.js'
import type { KeyringBackend } from './credentials/keyring.js'
import { openSecretStore } from './credentials/secret-store.js'
import { loadConfig } from './config.js'
import type { CoreContext } from './context.js'
import type { Sql } from './db/connect.js'
import { closePostgres, connectPostgres } from './db/connect.js'
import type { EffectName } from './effects.js'
import { EFFECTS } from './effects.js'
import { connectEmbedded } from './embedded/connect-embedded.js'
import type { Disposer } from './events.js'
import { createEventBus } from './events.js'
import type { Logger } from './log.js'
import { silentLogger } from './log.js'
import type { Redis } from './redis.js'
import { closeRedis, connectRedis } from './redis.js'
import { ValidationState } from './validation/validation-state.js'

export interface OpenCoreOptions {
  /** The environment to read the configuration from (default `process.env`); ignored with `config`. */
  env?: Record<string, string | undefined>
  config?: Config
  clock?: Clock
  log?: Logger
  /** Who acts (audit rows, created_by); default MOMENTRY_ACTOR, else `cli:<os user>`. */
  actor?: string
  /** A process that keeps running: Redis reconnects after a drop, and a failed connection is tried again on next use. */
  longRunning?: boolean
  /** Use this pool instead of opening one; the caller closes it. */
  sql?: Sql
  /** Use this Redis instead of opening one; the caller closes it. */
  redis?: () => Promise<Redis | undefined>
  /** Reactions to attach at once (they cost nothing until an event comes); services need `start()`. */
  effects?: readonly EffectName[]
  /** The OS keychain backend for momentry's own secrets (tests pass an in-memory one). */
  keyring?: KeyringBackend
}

/** A core context with its connections, its side effects and one way to shut it all down. */
export interface Core {
  readonly ctx: CoreContext
  readonly config: Config
  /** Attach these side effects (skipping those already on); services load their state before this resolves. */
  start(effects: readonly EffectName[]): Promise<void>
  /**
   * Shut down in the one order that loses nothing: stop the services (timers, subscriptions),
   * write buffered usage, let every reaction finish (events raised meanwhile included), detach
   * the reactions (a one-shot run delivers its own webhooks here), then close Redis and
   * PostgreSQL. Safe to call more than once.
   */
  close(): Promise<void>
}

/**
 * The one place that builds the core context and its connections. Nothing connects here:
 * PostgreSQL on the first query, Redis on the first `ctx.redis()`.
 */
export function openCore(options: OpenCoreOptions = {}): Core {
  const env = options.env ?? process.env
  const config = options.config ?? loadConfig(env)
  const log = options.log ?? silentLogger
  const clock = options.clock ?? systemClock
  const bus = createEventBus(log)
  let sql: Sql | undefined = options.sql
  let redis: Promise<Redis | undefined> | undefined

  // The mode is chosen here, once: a PostgreSQL server when DATABASE_URL is set, else the
  // embedded one in MOMENTRY_DATA_DIR, started on the first query (SPEC §2, §9).
  const openSql = (): Sql => (config.databaseUrl ? connectPostgres(config.databaseUrl) : connectEmbedded(config, log))
  /** The Redis client once some use connected it: usage counters go there only then (they never connect). */
  let connected: Redis | undefined
  const openRedis = (): Promise<Redis | undefined> => {
    if (options.redis) return options.redis().then((r) => (connected = r))
    if (!config.redisUrl) return Promise.resolve(undefined)
    // A one-shot run keeps its first answer; a long-running one forgets a failed connection
    // so that the next use tries again (Redis may come up after the process did).
    redis ??= connectRedis(config.redisUrl, log, { reconnect: options.longRunning }).then(
      (r) => (connected = r),
      (error: unknown) => {
        if (options.longRunning) redis = undefined
        throw error
      },
    )
    return redis
  }

  const base = {
    get sql(): Sql {
      return (sql ??= openSql())
    },
    redis: openRedis,
    bus,
    config,
    clock,
    log,
    actor: options.actor ?? (env.MOMENTRY_ACTOR || defaultActor()),
  }
  const validation = new ValidationState({ sql: () => base.sql, redis: openRedis, connectedRedis: () => connected, bus, config, clock, log })
  // Not `{...base}`: spreading would call the `sql` getter, connecting (or failing) eagerly.
  const secrets = openSecretStore({ config, keyring: options.keyring, log })
  const audit = new AuditKeyring({ envKeys: config.auditKey, secrets, log })
  const ctx: CoreContext = Object.assign(base, { validation, secrets, audit })

  const attached = new Map<EffectName, Disposer>()
  const attach = async (name: EffectName) => {
    if (attached.has(name)) return
    attached.set(name, async () => {}) // claimed, so a concurrent start() does not attach it twice
    try {
      attached.set(name, await EFFECTS[name].attach(ctx))
    } catch (error) {
      attached.delete(name)
      throw error
    }
  }
  for (const name of options.effects ?? []) {
    if (EFFECTS[name].kind !== 'reaction') throw new Error(`${name} is a service: start it with core.start()`)
    attached.set(name, EFFECTS[name].attach(ctx) as Disposer)
  }

  const dispose = async (kind: 'reaction' | 'service') => {
    for (const [name, disposer] of [...attached].reverse()) {
      if (EFFECTS[name].kind !== kind) continue
      attached.delete(name)
      await disposer().catch((e: Error) => log.warn(`stopping ${name}: ${e.message}`))
    }
  }

  let closing: Promise<void> | undefined
  return {
    ctx,
    config,
    async start(effects) {
      for (const name of effects) await attach(name)
    },
    close() {
      closing ??= (async () => {
        await dispose('service')
        await validation.usage.stop().catch((e: Error) => log.warn(`usage: ${e.message}`))
        await bus.drain()
        await dispose('reaction')
        await bus.drain()
        const client = await redis?.catch(() => undefined)
        await Promise.all([!options.sql && sql && closePostgres(sql), client && closeRedis(client)])
      })()
      return closing
    },
  }
}
