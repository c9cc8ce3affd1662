import * as z from 'zod'

import type { CoreContext } from '../context.js'
import { parseInput } from '../validate-input.js'
import { ANOMALY_COLUMNS, toAnomalyView } from './repo.js'

export const ANOMALY_TYPES = ['high_request_rate', 'high_error_rate', 'multiple_ips', 'unusual_time'] as const
export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const
export const ANOMALY_STATUSES = ['open', 'acknowledged', 'resolved'] as const

export const anomalyViewSchema = z
  .object({
    id: z.string(),
    keyId: z.string(),
    type: z.enum(ANOMALY_TYPES),
    severity: z.enum(SEVERITIES),
    observed: z.number(),
    threshold: z.number(),
    windowSeconds: z.number().int(),
    firstSeenAt: z.string(),
    lastSeenAt: z.string(),
    count: z.number().int(),
    status: z.enum(ANOMALY_STATUSES),
  })
  .meta({ id: 'Anomaly' })
export type AnomalyView = z.infer<typeof anomalyViewSchema>

export const listAnomaliesInputSchema = z
  .object({
    keyId: z.string().max(64).optional(),
    type: z.enum(ANOMALY_TYPES).optional(),
    severity: z.enum(SEVERITIES).optional(),
    status: z.enum(ANOMALY_STATUSES).optional(),
    since: z.coerce.date().optional(),
    limit: z.number().int().min(1).max(1000).default(100),
  })
  .strict()

/** Anomalies, most recently seen first, filtered by key, type, severity, status and time. */
export async function listAnomalies(ctx: CoreContext, input: z.input<typeof listAnomaliesInputSchema> = {}): Promise<AnomalyView[]> {
  const i = parseInput(listAnomaliesInputSchema, input)
  const q = ctx.sql
  const rows = await q`
    select ${q.unsafe(ANOMALY_COLUMNS)} from api_key_anomalies
    where true
      ${i.keyId ? q`and key_id = ${i.keyId}` : q``}
      ${i.type ? q`and anomaly_type = ${i.type}` : q``}
      ${i.severity ? q`and severity = ${i.severity}` : q``}
      ${i.status ? q`and status = ${i.status}` : q``}
      ${i.since ? q`and last_seen_at >= ${i.since}` : q``}
    order by last_seen_at desc, id desc
    limit ${i.limit}`
  return rows.map(toAnomalyView)
}
