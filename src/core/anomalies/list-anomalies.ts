import * as z from 'zod'

import { filterTextSchema } from '../api-keys/key-types.js'
import type { CoreContext } from '../context.js'
import { isStorableTime, STORABLE_TIMES } from '../time-text.js'
import { parseInput } from '../validate-input.js'
import type { AnomalyView } from './anomaly-view.js'
import { ANOMALY_STATUSES, ANOMALY_TYPES, SEVERITIES } from './anomaly-view.js'
import { selectAnomalies } from './repo.js'

export const listAnomaliesInputSchema = z
  .object({
    keyId: filterTextSchema(64).optional(),
    type: z.enum(ANOMALY_TYPES).optional(),
    severity: z.enum(SEVERITIES).optional(),
    status: z.enum(ANOMALY_STATUSES).optional(),
    since: z.coerce.date().refine(isStorableTime, `must be a time ${STORABLE_TIMES}`).optional(),
    limit: z.number().int().min(1).max(1000).default(100),
  })
  .strict()

/** Anomalies, most recently seen first, filtered by key, type, severity, status and time. */
export async function listAnomalies(ctx: CoreContext, input: z.input<typeof listAnomaliesInputSchema> = {}): Promise<AnomalyView[]> {
  return selectAnomalies(ctx.sql, parseInput(listAnomaliesInputSchema, input))
}
