import * as z from 'zod'

import { anomalyViewSchema } from '../core/anomalies/anomaly-view.js'
import { KEY_STATUSES, KEY_TYPES, SCOPE_PATTERN, metadataSchema, scopeSchema } from '../core/api-keys/key-types.js'
import { keyViewSchema } from '../core/api-keys/key-view.js'
import { reportLeaksInputSchema, reportLeaksResultSchema } from '../core/scan/report-leaks.js'
import { isStorableTime, STORABLE_TIMES } from '../core/time-text.js'
import { verifyResultSchema } from '../core/validation/verify-key.js'

// The same schemas validate requests at run time and generate /openapi.json.

const duration = z.string().regex(/^\d{1,10}[smhdw]$/, 'a duration like 30d or 12h').meta({ example: '30d' })
const ip = z.union([z.ipv4(), z.ipv6()]).meta({ description: 'IPv4 or IPv6 address', example: '203.0.113.7' })

const KEY_MAX = 4096
const SCOPES_MAX = 64

export const verifyBody = z
  .object({
    key: z.string().max(KEY_MAX).meta({ description: 'The raw key, e.g. mtry_svc_…' }),
    ip: ip.optional().meta({ description: 'Source IP of the original request (from a trusted proxy); defaults to the socket address' }),
    requiredScopes: z.array(scopeSchema).max(SCOPES_MAX).optional(),
  })
  .strict()
  .meta({ id: 'VerifyRequest' })
export type VerifyBody = z.output<typeof verifyBody>

/**
 * `verifyBody`'s parse of a body in its everyday shape — a key, perhaps an IPv4 address,
 * perhaps up to 64 scopes, nothing else — without zod's machinery, which was the largest
 * part of the verify route's own work per request. Returns exactly what the schema's parse
 * returns, or undefined for any other input: the schema then decides, with its messages (an
 * IPv6 address, say, or anything it refuses). Held to the schema by a property test
 * (test/http/verify-body.test.ts); the limits and patterns are the schema's own.
 */
export function everydayVerifyBody(json: unknown): VerifyBody | undefined {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined
  const body = json as Record<string, unknown>
  for (const name in body) if (name !== 'key' && name !== 'ip' && name !== 'requiredScopes') return undefined
  const { key, ip, requiredScopes } = body
  if (typeof key !== 'string' || key.length > KEY_MAX) return undefined
  if (ip !== undefined && (typeof ip !== 'string' || !z.regexes.ipv4.test(ip))) return undefined
  const parsed: VerifyBody = ip === undefined ? { key } : { key, ip }
  if (requiredScopes === undefined) return parsed
  if (!Array.isArray(requiredScopes) || requiredScopes.length > SCOPES_MAX) return undefined
  for (const scope of requiredScopes) if (typeof scope !== 'string' || !SCOPE_PATTERN.test(scope)) return undefined
  parsed.requiredScopes = [...(requiredScopes as string[])] // a copy, as the schema's parse gives
  return parsed
}

/** JSON string content that JSON.parse returns as it is: printable ASCII, no quote, no backslash. */
const PLAIN_JSON_TEXT = String.raw`[\x20\x21\x23-\x5b\x5d-\x7e]`
const KEY_TEXT = `(${PLAIN_JSON_TEXT}{0,${KEY_MAX}})`
const IPV4_TEXT = '([0-9.]{7,15})'
/** `{"key":"…"}`, `{"key":"…","ip":"…"}` or `{"ip":"…","key":"…"}`, as clients' JSON serialisers write them. */
const EVERYDAY_TEXT = new RegExp(String.raw`^\{(?:"key":"${KEY_TEXT}"(?:,"ip":"${IPV4_TEXT}")?|"ip":"${IPV4_TEXT}","key":"${KEY_TEXT}")\}$`)
/** The longest body EVERYDAY_TEXT can match. */
const EVERYDAY_TEXT_MAX = '{"ip":"","key":""}'.length + 15 + KEY_MAX

/**
 * `verifyBody`'s parse of the raw bytes of a body in its most common shape — a key and
 * perhaps an IPv4 address, written without spaces or escapes — without JSON.parse or a
 * UTF-8 decode; undefined for any other body, which then goes through JSON.parse and
 * `everydayVerifyBody`. A match is all ASCII (no pattern admits a byte above 0x7f), so its
 * Latin-1 reading is its UTF-8 one, and none of its strings holds a character JSON would
 * have escaped, so each is what JSON.parse would return. Held to JSON.parse and the schema
 * by a property test (test/http/verify-body.test.ts).
 */
export function everydayVerifyBytes(bytes: Buffer): VerifyBody | undefined {
  if (bytes.length > EVERYDAY_TEXT_MAX) return undefined
  const m = EVERYDAY_TEXT.exec(bytes.toString('latin1'))
  if (m === null) return undefined
  const key = (m[1] ?? m[4])!
  const ip = m[2] ?? m[3]
  if (ip === undefined) return { key }
  return z.regexes.ipv4.test(ip) ? { key, ip } : undefined
}

export const usageBody = z
  .object({
    keyId: z.string().regex(/^key_[0-9A-Za-z]{16}$/, 'must be a key id (key_…)'),
    ip,
    ok: z.boolean().meta({ description: 'Whether the request made with the key succeeded' }),
  })
  .strict()
  .meta({ id: 'UsageReport' })

export const createKeyBody = z
  .object({
    name: z.string().min(1).max(100),
    type: z.enum(KEY_TYPES),
    scopes: z.array(scopeSchema).max(64).optional(),
    owner: z.string().min(1).max(200).optional(),
    expiresIn: duration.optional(),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
    rotateEvery: duration.optional(),
    metadata: metadataSchema.optional(),
  })
  .strict()
  .meta({ id: 'CreateApiKey' })

export const patchKeyBody = z
  .object({ enabled: z.boolean(), reason: z.string().min(1).max(500).optional() })
  .strict()
  .meta({ id: 'PatchApiKey', description: 'Disable (enabled: false) or enable (enabled: true) a key.' })

export const rotateKeyBody = z
  .object({ force: z.boolean().optional(), grace: duration.optional(), reason: z.string().min(1).max(500).optional() })
  .strict()
  .meta({ id: 'RotateApiKey' })

export const revokeQuery = z.object({ reason: z.string().min(1).max(500).optional() }).strict()

export const listKeysQuery = z
  .object({
    type: z.enum(KEY_TYPES).optional(),
    status: z.enum(KEY_STATUSES).optional(),
    owner: z.string().min(1).max(200).optional(),
    limit: z.coerce.number().int().min(1).max(1000).optional(),
    cursor: z.string().max(200).optional(),
  })
  .strict()

export const listAnomaliesQuery = z
  .object({
    keyId: z.string().max(64).optional(),
    type: z.enum(['high_request_rate', 'high_error_rate', 'multiple_ips', 'unusual_time']).optional(),
    severity: z.enum(['low', 'medium', 'high', 'critical']).optional(),
    status: z.enum(['open', 'acknowledged', 'resolved']).optional(),
    since: z.iso
      .datetime({ offset: true })
      .refine((v) => isStorableTime(new Date(v)), `must be a time ${STORABLE_TIMES}`)
      .optional(),
    limit: z.coerce.number().int().min(1).max(1000).optional(),
  })
  .strict()

export const keyIdParams = z.object({ id: z.string().meta({ example: 'key_8f3kQ2mZp0aXy7Lb' }) })

export const errorSchema = z
  .object({ error: z.object({ code: z.string(), message: z.string() }) })
  .meta({ id: 'Error', example: { error: { code: 'NOT_FOUND', message: 'no API key with id key_…' } } })

export const keyPageSchema = z
  .object({ items: z.array(keyViewSchema), nextCursor: z.string().nullable().meta({ description: 'Pass as cursor for the next page; null on the last page' }) })
  .meta({ id: 'ApiKeyPage' })
export const keyResultSchema = z.object({ key: keyViewSchema }).meta({ id: 'ApiKeyResult', description: 'The key as it is after the change.' })
export const issuedKeySchema = z
  .object({ secret: z.string().meta({ description: 'The raw key: returned once, never stored' }), key: keyViewSchema })
  .meta({ id: 'IssuedApiKey' })
export const rotatedKeySchema = z
  .object({ secret: z.string(), key: keyViewSchema, previous: keyViewSchema })
  .meta({ id: 'RotatedApiKey' })
export const keyDetailsSchema = z
  .object({
    key: keyViewSchema,
    history: z.array(
      z.object({ seq: z.number().int(), at: z.string(), action: z.string(), actor: z.string(), details: z.record(z.string(), z.unknown()).nullable(), unreadable: z.string().optional() }),
    ),
  })
  .meta({ id: 'ApiKeyDetails' })
export const listAuditQuery = z
  .object({
    key: z.string().max(64).optional(),
    action: z.string().max(64).optional(),
    actor: z.string().max(200).optional(),
    since: z.string().max(40).optional().meta({ description: 'A duration back from now (7d) or an ISO date/time.' }),
    limit: z.coerce.number().int().min(1).max(1000).default(50),
    cursor: z.string().max(20).optional(),
  })
  .strict()
export const auditEventSchema = z
  .object({
    seq: z.number().int(),
    at: z.string(),
    actor: z.string(),
    action: z.string(),
    target: z.string().nullable(),
    keyId: z.string().nullable(),
    ip: z.string().nullable(),
    auditKeyId: z.string().nullable(),
    details: z.record(z.string(), z.unknown()).nullable(),
    unreadable: z.string().optional(),
  })
  .meta({ id: 'AuditEvent' })
export const auditPageSchema = z
  .object({ items: z.array(auditEventSchema), nextCursor: z.string().nullable().meta({ description: 'Pass as cursor for the next page; null on the last page' }) })
  .meta({ id: 'AuditPage' })
export const anomalyListSchema = z.object({ items: z.array(anomalyViewSchema) }).meta({ id: 'AnomalyList' })
export const lockoutIpParams = z.object({ ip: ip.meta({ description: 'The locked-out address, as GET /v1/admin/lockouts lists it', example: '203.0.113.7' }) })
export const clearAllLockoutsQuery = z
  .object({ all: z.literal('true').meta({ description: 'Required: lift every lockout in force now' }) })
  .strict()
export const lockoutListSchema = z
  .object({ items: z.array(z.object({ ip: z.string(), retryAfterSeconds: z.number().int().meta({ description: 'Seconds the lockout has left' }) })) })
  .meta({ id: 'LockoutList' })
export const clearedLockoutsSchema = z
  .object({
    cleared: z.array(
      z.object({
        ip: z.string(),
        wasLockedOut: z.boolean().meta({ description: 'False when the address only had failures counted against it' }),
        attempts: z.number().int(),
        retryAfterSeconds: z.number().int().meta({ description: 'What was left of the lockout (0 when not locked out)' }),
      }),
    ),
  })
  .meta({ id: 'ClearedLockouts' })
export const usageAcceptedSchema = z.object({ accepted: z.literal(true) }).meta({ id: 'UsageAccepted' })
export const healthSchema = z.object({ status: z.string(), checks: z.record(z.string(), z.string()).optional() }).meta({ id: 'Health' })

/** `POST /v1/leaks`: the core's own input schema (bounded: 1,000 tokens of at most 512 characters). */
export const reportLeaksBody = reportLeaksInputSchema

export { keyViewSchema, reportLeaksResultSchema, verifyResultSchema }
