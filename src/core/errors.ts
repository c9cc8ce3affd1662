/**
 * Typed errors. Each carries the exit code of SPEC §12, its meaning as an HTTP status, and a
 * hint naming what to do next, so every surface (CLI, HTTP) can report one clear line
 * without knowing the cause.
 */
export const ExitCode = {
  OK: 0,
  UNEXPECTED: 1,
  USAGE: 2,
  KEY_INVALID: 3,
  KEY_REFUSED: 4,
  NOT_FOUND: 5,
  CONFLICT: 6,
  EXTERNAL: 7,
  CONFIG: 8,
} as const

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

export interface MomentryErrorOptions {
  code: string
  exitCode: ExitCodeValue
  hint?: string
  cause?: unknown
  /** HTTP status of a third-party service, kept for --json output. */
  status?: number
  /**
   * What the error means to a client of momentry's own HTTP API (default 500: nothing the
   * client sent explains it). Kept apart from `exitCode`, which is the CLI's contract.
   */
  httpStatus?: number
}

export class MomentryError extends Error {
  readonly code: string
  readonly exitCode: ExitCodeValue
  readonly hint?: string
  readonly status?: number
  readonly httpStatus: number
  /** The message as constructed; frameworks (oclif) may decorate `message` later. */
  readonly reason: string

  constructor(message: string, options: MomentryErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = options.code
    this.exitCode = options.exitCode
    this.hint = options.hint
    this.status = options.status
    this.httpStatus = options.httpStatus ?? 500
    this.reason = message
  }

  /** One line: what happened, then what to do. */
  get line(): string {
    return this.hint ? `${this.reason}. ${this.hint}` : this.reason
  }
}

export class UsageError extends MomentryError {
  constructor(message: string, hint?: string) {
    super(message, { code: 'USAGE_ERROR', exitCode: ExitCode.USAGE, httpStatus: 400, hint })
  }
}

export class NotFoundError extends MomentryError {
  constructor(message: string, hint?: string) {
    super(message, { code: 'NOT_FOUND', exitCode: ExitCode.NOT_FOUND, httpStatus: 404, hint })
  }
}

export class ConflictError extends MomentryError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super(message, { code: 'CONFLICT', exitCode: ExitCode.CONFLICT, httpStatus: 409, hint, cause })
  }
}

export class ConfigError extends MomentryError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super(message, { code: 'CONFIG_ERROR', exitCode: ExitCode.CONFIG, httpStatus: 503, hint, cause })
  }
}

export class ConnectionError extends MomentryError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super(message, { code: 'CONNECTION_ERROR', exitCode: ExitCode.CONFIG, httpStatus: 503, hint, cause })
  }
}

export class ExternalServiceError extends MomentryError {
  constructor(message: string, options: { hint?: string; status?: number; cause?: unknown; code?: string } = {}) {
    super(message, { exitCode: ExitCode.EXTERNAL, httpStatus: 502, ...options, code: options.code ?? 'EXTERNAL_SERVICE_ERROR' })
  }
}

/**
 * Gitea or n8n does not have what was asked for (Gitea answered 404, or n8n's own list
 * does not show the key). A subclass so callers can tell "the service says it is gone"
 * from any other failure by type; the HTTP status is kept when there was one.
 */
export class RemoteNotFoundError extends NotFoundError {
  override readonly status?: number

  constructor(message: string, hint?: string, status?: number) {
    super(message, hint)
    this.status = status
  }
}

/** Gitea or n8n refused a name or label the user already has (status kept for --json). */
export class RemoteConflictError extends ConflictError {
  override readonly status?: number

  constructor(message: string, hint?: string, status?: number) {
    super(message, hint)
    this.status = status
  }
}
