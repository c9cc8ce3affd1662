export type LeakResponse = 'revoke' | 'rotate'

/**
 * What was done about one leaked credential. Gitea/n8n: `deleted` (`--revoke`), `rotated`,
 * `already_deleted` (gone from the server meanwhile), `unconfirmed` (the service could not be
 * asked, so nothing was done), `ambiguous` (more than one tracked record fits), `no_session`
 * (no credentials for the server it lives on), `failed` (the delete or rotation failed: see
 * `actionError`).
 */
export type LeakOutcome =
  | 'revoked'
  | 'rotated'
  | 'already_revoked'
  | 'not_live'
  | 'unknown'
  | 'deleted'
  | 'already_deleted'
  | 'unconfirmed'
  | 'ambiguous'
  | 'no_session'
  | 'failed'
