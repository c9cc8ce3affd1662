import type { AnomalyAlert, Severity } from './anomalies/anomaly-view.js'
import type { Logger } from './log.js'

/** Everything the core announces. Payloads never carry a secret. */
export type MomentryEvent =
  | { type: 'key.created'; keyId: string; name: string; keyType: string; rotatedFrom: string | null; at: string }
  | {
      type: 'key.rotated'
      keyId: string
      newKeyId: string
      graceExpiresAt: string | null
      revokedNow: boolean
      at: string
    }
  | { type: 'key.revoked'; keyId: string; reason: string | null; at: string }
  | { type: 'key.disabled'; keyId: string; reason: string | null; at: string }
  | { type: 'key.enabled'; keyId: string; at: string }
  | { type: 'key.rotation_due'; keyId: string; name: string; dueAt: string; at: string }
  /**
   * A live credential was found where it should not be (`scan --revoke|--rotate`, `POST /v1/leaks`)
   * and acted on: `where` is the place (file:line, commit and path, a URL), never the secret
   * nor any part of it. `credential` says what it was: a momentry key (`keyId` its id), or a
   * tracked Gitea token / n8n API key (`keyId` the token or key id, `service` the server,
   * `owner` its user; `deleted` when `--revoke` deleted it there).
   */
  | {
      type: 'key.leaked'
      credential: 'momentry' | 'gitea' | 'n8n'
      keyId: string
      name: string
      where: string
      response: 'revoked' | 'rotated' | 'deleted'
      newKeyId: string | null
      /** The Gitea or n8n URL; null for a momentry key. */
      service: string | null
      /** The Gitea user or n8n owner; null for a momentry key or when not recorded. */
      owner: string | null
      at: string
    }
  /** A signed audit checkpoint (`note`, a C2SP-style signed note) to keep outside the database. */
  | { type: 'audit.checkpoint'; origin: string; seq: number; hash: string; note: string; vkey: string; at: string }
  | { type: 'blacklist.changed'; network: string; change: 'added' | 'removed'; at: string }
  | { type: 'ip.locked_out'; ip: string; attempts: number; retryAfterSeconds: number; at: string }
  /** Lockouts lifted early (`lockout clear`): these addresses, or (`all`) every lockout there was. */
  | { type: 'ip.lockout_cleared'; ips: string[]; all: boolean; at: string }
  | {
      type: 'anomaly.detected'
      /** The alert exactly as published on the alert channel `momentry:anomaly:alerts`. */
      alert: AnomalyAlert
      /** False when this bumped an anomaly that was already open. */
      created: boolean
      /** The anomaly's severity before this detection; null when this opened it. */
      previousSeverity: Severity | null
      at: string
    }
  /** Internal: a batch of usage reached PostgreSQL (anomaly detection reads it). Not a webhook event. */
  | { type: 'usage.flushed'; keyIds: string[]; at: string }
  | GiteaTokenEvent
  | N8nKeyEvent

/**
 * Gitea tokens minted, rotated and deleted through momentry. Ids, names, user, URL and
 * scopes only: never the token, nor its last eight characters. A rotation emits `created`
 * for the new token, `deleted` for the old one once it is gone, then `rotated` naming both.
 */
export type GiteaTokenEvent =
  | { type: 'gitea.token.created'; giteaUrl: string; tokenId: number; user: string; name: string; scopes: string[]; rotatedFrom: number | null; at: string }
  | {
      type: 'gitea.token.rotated'
      giteaUrl: string
      user: string
      /** The token replaced, and its replacement. */
      tokenId: number
      name: string
      newTokenId: number
      newName: string
      scopes: string[]
      /** False when deleting the old token failed: it still works until deleted in Gitea. */
      previousDeleted: boolean
      at: string
    }
  | {
      type: 'gitea.token.deleted'
      giteaUrl: string
      tokenId: number
      user: string
      /** null for a token momentry did not track. */
      name: string | null
      tracked: boolean
      /** Already deleted in Gitea: momentry only stopped tracking it. */
      alreadyGone: boolean
      replacedBy: number | null
      at: string
    }

/** n8n API keys minted, rotated and deleted through momentry; never the key nor its last four characters. */
export type N8nKeyEvent =
  | {
      type: 'n8n.key.created'
      n8nUrl: string
      n8nKeyId: string
      label: string
      /** The n8n user (e-mail) the key belongs to. */
      owner: string | null
      scopes: string[]
      expiresAt: string | null
      rotatedFrom: string | null
      at: string
    }
  | {
      type: 'n8n.key.rotated'
      n8nUrl: string
      owner: string | null
      n8nKeyId: string
      label: string
      newN8nKeyId: string
      newLabel: string
      scopes: string[]
      previousDeleted: boolean
      at: string
    }
  | {
      type: 'n8n.key.deleted'
      n8nUrl: string
      n8nKeyId: string
      label: string
      owner: string | null
      tracked: boolean
      alreadyGone: boolean
      replacedBy: string | null
      at: string
    }

export type EventType = MomentryEvent['type']
type Handler<E = MomentryEvent> = (event: E) => void | Promise<void>

/** What attaching a side effect returns: detach it, finishing what it had started. */
export type Disposer = () => Promise<void>

/**
 * One bus per context. Services publish after their transaction commits; cache
 * invalidation, webhooks and Redis alerts subscribe — they are never special cases in
 * the services.
 */
export interface EventBus {
  emit(event: MomentryEvent): void
  on<T extends EventType>(type: T | '*', handler: Handler<Extract<MomentryEvent, { type: T }>>): () => void
  /** Resolves when every handler started so far has settled. */
  drain(): Promise<void>
}

export function createEventBus(log: Logger): EventBus {
  const handlers = new Map<string, Set<Handler<never>>>()
  const pending = new Set<Promise<void>>()
  return {
    emit(event) {
      for (const key of [event.type, '*']) {
        for (const handler of handlers.get(key) ?? []) {
          const run = Promise.resolve()
            .then(() => (handler as Handler)(event))
            .catch((error: unknown) => log.warn(`event handler for ${event.type} failed: ${String(error)}`))
          pending.add(run)
          void run.finally(() => pending.delete(run))
        }
      }
    },
    on(type, handler) {
      const set = handlers.get(type) ?? new Set()
      set.add(handler as Handler<never>)
      handlers.set(type, set)
      return () => set.delete(handler as Handler<never>)
    },
    async drain() {
      while (pending.size > 0) await Promise.allSettled([...pending])
    },
  }
}
