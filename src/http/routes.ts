import type { z } from 'zod'

import { listAnomalies } from '../core/anomalies/list-anomalies.js'
import { disableKey, enableKey, revokeKey } from '../core/api-keys/change-key-state.js'
import { createKey } from '../core/api-keys/create-key.js'
import { assertKeyId } from '../core/api-keys/key-id.js'
import { listKeys, showKey } from '../core/api-keys/list-keys.js'
import { rotateKey } from '../core/api-keys/rotate-key.js'
import { listAudit } from '../core/audit/list-audit.js'
import type { CoreContext } from '../core/context.js'
import { parseDuration } from '../core/duration.js'
import { reportLeaks } from '../core/scan/report-leaks.js'
import { reportUsage } from '../core/usage/record-usage.js'
import { clearLockouts, listLockouts } from '../core/validation/clear-lockouts.js'
import type { VerifyInput } from '../core/validation/verify-key.js'
import { verifyKey } from '../core/validation/verify-key.js'
import * as s from './schemas.js'
import type { ClientAddress } from './source-ip.js'

export interface RouteRequest<B = any, Q = any, P = any> {
  body: B
  query: Q
  params: P
  /**
   * The client's address: the body's `ip` when the caller is a trusted proxy
   * (MOMENTRY_TRUSTED_PROXIES), else the connection's (normalised).
   */
  ip: string
  /** The trusted proxy's own address when it named the client in `ip` (see `ClientAddress`). */
  via?: string
  /** The caller's context: for admin routes, acting as `api:<admin key id>`. */
  ctx: CoreContext
}

export interface RouteSpec {
  method: 'get' | 'post' | 'patch' | 'delete'
  /** OpenAPI-style path (`/v1/admin/api-keys/{id}`). */
  path: string
  summary: string
  tag: string
  /** Requires `Authorization: Bearer <key with scope admin>` (or one of `scopes`). */
  admin?: boolean
  /** Admin routes: the key needs one of these scopes (default `admin` alone). */
  scopes?: readonly string[]
  /** A larger body limit than the server's (a batch route). */
  bodyLimit?: number
  body?: z.ZodType
  query?: z.ZodType
  params?: z.ZodType
  status: number
  response: z.ZodType
  errors: number[]
  handler: (req: RouteRequest) => Promise<unknown>
}

const seconds = (d: string | undefined, label: string) => (d === undefined ? undefined : parseDuration(d, `"${label}"`, { allowZero: label === 'grace', example: label === 'grace' ? '12h' : '30d' }))

/** What a verify request asks the core, for the client address decided by `sourceIpRule`. */
export function verifyInput(body: z.output<typeof s.verifyBody>, { ip, via }: ClientAddress): VerifyInput {
  return { key: body.key, ip, via, requiredScopes: body.requiredScopes }
}

/**
 * The hot route: also served by verify-fast-path.ts, which takes its method, path, body
 * schema and status from this very spec (`satisfies` keeps their precise types for it).
 */
export const verifyRoute = {
  method: 'post',
  path: '/v1/keys/verify',
  summary: 'Validate a key. Always 200 for a decided outcome; see `valid` and `code`.',
  tag: 'keys',
  body: s.verifyBody,
  status: 200,
  response: s.verifyResultSchema,
  errors: [400, 413],
  handler: ({ ctx, body, ip, via }) => verifyKey(ctx, verifyInput(body, { ip, via })),
} satisfies RouteSpec

/** `POST /v1/leaks` is open to admin keys and to keys made only for reporting (a scanner's). */
export const LEAK_REPORT_SCOPES = ['admin', 'leaks:report'] as const
/** 1,000 tokens with their places fit; the server's 16 KiB would not. */
export const LEAK_REPORT_BODY_LIMIT = 1024 * 1024

/** Every route of `momentry serve`: handlers call the core, nothing else. */
export const routes: RouteSpec[] = [
  verifyRoute,
  {
    method: 'post',
    path: '/v1/usage',
    summary: 'Report the outcome of a request made with a key (feeds usage and anomaly detection).',
    tag: 'keys',
    body: s.usageBody,
    status: 202,
    response: s.usageAcceptedSchema,
    errors: [400, 404],
    handler: async ({ ctx, body, ip }) => {
      // The reported client IP counts only from a trusted proxy; from anyone else it is dropped.
      await reportUsage(ctx, { ...body, ip: ip === body.ip ? ip : undefined })
      return { accepted: true }
    },
  },
  {
    method: 'get',
    path: '/v1/admin/api-keys',
    summary: 'List keys, newest first (keyset pagination).',
    tag: 'admin',
    admin: true,
    query: s.listKeysQuery,
    status: 200,
    response: s.keyPageSchema,
    errors: [400, 401, 403, 429],
    handler: ({ ctx, query }) => listKeys(ctx, query),
  },
  {
    method: 'post',
    path: '/v1/admin/api-keys',
    summary: 'Issue a key. The raw key is in `secret`, returned once.',
    tag: 'admin',
    admin: true,
    body: s.createKeyBody,
    status: 201,
    response: s.issuedKeySchema,
    errors: [400, 401, 403, 429],
    handler: ({ ctx, body }) =>
      createKey(ctx, {
        name: body.name,
        type: body.type,
        scopes: body.scopes,
        owner: body.owner,
        expiresInSeconds: seconds(body.expiresIn, 'expiresIn'),
        expiresAt: body.expiresAt,
        rotateEverySeconds: seconds(body.rotateEvery, 'rotateEvery'),
        metadata: body.metadata,
      }),
  },
  {
    method: 'get',
    path: '/v1/admin/api-keys/{id}',
    summary: 'One key and its history.',
    tag: 'admin',
    admin: true,
    params: s.keyIdParams,
    status: 200,
    response: s.keyDetailsSchema,
    errors: [400, 401, 403, 404, 429],
    handler: ({ ctx, params }) => showKey(ctx, params.id),
  },
  {
    method: 'patch',
    path: '/v1/admin/api-keys/{id}',
    summary: 'Disable or enable a key.',
    tag: 'admin',
    admin: true,
    params: s.keyIdParams,
    body: s.patchKeyBody,
    status: 200,
    response: s.keyResultSchema,
    errors: [400, 401, 403, 404, 409, 429],
    handler: async ({ ctx, params, body }) => ({ key: await (body.enabled ? enableKey(ctx, { id: params.id }) : disableKey(ctx, { id: params.id, reason: body.reason })) }),
  },
  {
    method: 'delete',
    path: '/v1/admin/api-keys/{id}',
    summary: 'Revoke a key (for good).',
    tag: 'admin',
    admin: true,
    params: s.keyIdParams,
    query: s.revokeQuery,
    status: 200,
    response: s.keyResultSchema,
    errors: [400, 401, 403, 404, 409, 429],
    handler: async ({ ctx, params, query }) => ({ key: await revokeKey(ctx, { id: params.id, reason: query.reason }) }),
  },
  {
    method: 'post',
    path: '/v1/admin/api-keys/{id}/rotate',
    summary: 'Rotate a key; the old one stays valid for its grace period unless forced.',
    tag: 'admin',
    admin: true,
    params: s.keyIdParams,
    body: s.rotateKeyBody,
    status: 200,
    response: s.rotatedKeySchema,
    errors: [400, 401, 403, 404, 409, 429],
    handler: ({ ctx, params, body }) =>
      rotateKey(ctx, { id: assertKeyId(params.id), force: body.force ?? false, graceSeconds: seconds(body.grace, 'grace'), reason: body.reason }),
  },
  {
    method: 'get',
    path: '/v1/admin/anomalies',
    summary: 'Detected anomalies, most recent first.',
    tag: 'admin',
    admin: true,
    query: s.listAnomaliesQuery,
    status: 200,
    response: s.anomalyListSchema,
    errors: [400, 401, 403, 429],
    handler: async ({ ctx, query }) => ({ items: await listAnomalies(ctx, query) }),
  },
  {
    method: 'get',
    path: '/v1/admin/lockouts',
    summary: 'IP addresses locked out for too many failed validations, with the seconds each has left.',
    tag: 'admin',
    admin: true,
    status: 200,
    response: s.lockoutListSchema,
    errors: [401, 403, 429],
    handler: ({ ctx }) => listLockouts(ctx),
  },
  {
    method: 'delete',
    path: '/v1/admin/lockouts/{ip}',
    summary: 'Lift the lockout of one address (its failure count starts again at zero); every server forgets it at once. Audited.',
    tag: 'admin',
    admin: true,
    params: s.lockoutIpParams,
    status: 200,
    response: s.clearedLockoutsSchema,
    errors: [400, 401, 403, 404, 429],
    handler: ({ ctx, params }) => clearLockouts(ctx, { ip: params.ip }),
  },
  {
    method: 'delete',
    path: '/v1/admin/lockouts',
    summary: 'Lift every lockout in force now (`?all=true` is required). Audited per address.',
    tag: 'admin',
    admin: true,
    query: s.clearAllLockoutsQuery,
    status: 200,
    response: s.clearedLockoutsSchema,
    errors: [400, 401, 403, 429],
    handler: ({ ctx }) => clearLockouts(ctx, { all: true }),
  },
  {
    method: 'post',
    path: '/v1/leaks',
    summary:
      'Report credentials an outside scanner found: every momentry key among them not yet revoked is revoked now (audited, `key.leaked` emitted), answered per token in order. Tokens are never echoed.',
    tag: 'admin',
    admin: true,
    scopes: LEAK_REPORT_SCOPES,
    bodyLimit: LEAK_REPORT_BODY_LIMIT,
    body: s.reportLeaksBody,
    status: 200,
    response: s.reportLeaksResultSchema,
    errors: [400, 401, 403, 413, 429],
    handler: ({ ctx, body }) => reportLeaks(ctx, body),
  },
  {
    method: 'get',
    path: '/v1/admin/audit',
    summary: 'The audit trail, oldest first, details decrypted; page on with `cursor`.',
    tag: 'admin',
    admin: true,
    query: s.listAuditQuery,
    status: 200,
    response: s.auditPageSchema,
    errors: [400, 401, 403, 429, 503],
    handler: ({ ctx, query }) => listAudit(ctx, query),
  },
]
