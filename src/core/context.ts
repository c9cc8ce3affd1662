import type { AuditKeyring } from './audit/audit-keys.js'
import type { Clock } from './clock.js'
import type { Config } from './config.js'
import type { SecretStore } from './credentials/secret-store.js'
import type { Sql } from './db/connect.js'
import type { EventBus } from './events.js'
import type { Logger } from './log.js'
import type { Redis } from './redis.js'
import type { ValidationState } from './validation/validation-state.js'

/**
 * Everything a core function depends on, passed in explicitly. The core keeps no
 * module-level state: two contexts in one process are fully independent. Built, with its
 * connections and side effects, by `openCore()` (open-core.ts).
 */
export interface CoreContext {
  /** The PostgreSQL pool; connected on first query. */
  readonly sql: Sql
  /** Redis when configured and reachable; undefined in no-Redis mode. Connected on first use. */
  redis(): Promise<Redis | undefined>
  readonly bus: EventBus
  readonly config: Config
  readonly clock: Clock
  readonly log: Logger
  /** Who is acting, recorded in audit rows and created_by (e.g. `cli:alice`). */
  readonly actor: string
  /** What validation keeps between calls: key cache, lockout counting, usage buffer, mirrors. */
  readonly validation: ValidationState
  /** Secrets momentry makes for itself (audit keys, the checkpoint signing key). */
  readonly secrets: SecretStore
  /** The audit keys: encrypt new audit rows, open old ones. */
  readonly audit: AuditKeyring
}
