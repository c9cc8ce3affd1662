import * as z from 'zod'

/** The detectors, severities and states of an anomaly (SPEC §6). */
export const ANOMALY_TYPES = ['high_request_rate', 'high_error_rate', 'multiple_ips', 'unusual_time'] as const
export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const
export const ANOMALY_STATUSES = ['open', 'acknowledged', 'resolved'] as const
export type AnomalyType = (typeof ANOMALY_TYPES)[number]
export type Severity = (typeof SEVERITIES)[number]
export type AnomalyStatus = (typeof ANOMALY_STATUSES)[number]

export const SEVERITY_RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 }

/** An anomaly as every surface shows it (`--json`, tables, HTTP). */
export const anomalyViewSchema = z
  .object({
    id: z.string(),
    keyId: z.string(),
    /** Names repeat across rotations (the new key keeps the name): shown with the id, never instead of it. */
    keyName: z.string().nullable().meta({ description: "The key's name (rotated keys share it: tell them apart by keyId); null once the key was purged" }),
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

/**
 * One detection as published on the alert channel (`<prefix>anomaly:alerts`) and carried by
 * the `anomaly.detected` event: {id, keyId, keyName, type, severity, observed, threshold,
 * windowSeconds, detectedAt}. Messages read back from the channel are untrusted input.
 */
export const anomalyAlertSchema = z.object({
  id: z.string().max(64),
  keyId: z.string().max(64),
  keyName: z.string().max(200),
  type: z.enum(ANOMALY_TYPES),
  severity: z.enum(SEVERITIES),
  observed: z.number(),
  threshold: z.number(),
  windowSeconds: z.number().int(),
  detectedAt: z.string().max(40),
})
export type AnomalyAlert = z.infer<typeof anomalyAlertSchema>
