import type { Metric, MetricValue } from 'prom-client'
import { Counter, Registry, collectDefaultMetrics } from 'prom-client'

import type { ValidationState } from '../core/validation/validation-state.js'
import type { VerifyResult } from '../core/validation/verify-key.js'

export interface HttpMetrics {
  registry: Registry
  /** Count one verification by outcome and record how long it took since `started` (performance.now()). */
  observeVerify(result: VerifyResult, started: number): void
}

/** Upper bounds (seconds) of the validation latency histogram. */
/** 0.002 is the SPEC's cache-miss bar, so the histogram can say how many validations exceeded it. */
const LATENCY_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.0025, 0.005, 0.01, 0.025, 0.1]

/** One outcome's tally: plain numbers on the hot path, turned into Prometheus text at scrape time. */
interface Tally {
  count: number
  sum: number
  /** Observations per bucket (not cumulative); the last slot is above the largest bound. */
  buckets: Float64Array
}

/**
 * Validations by outcome and their latency, as a counter and a histogram. prom-client's own
 * Histogram builds a label key per observation, which is most of the cost of observing on
 * the hot path; here an observation is three additions, and the registry reads the tallies
 * when scraped, with the same names, labels and bucket bounds.
 */
function verifyMetrics(registry: Registry): (outcome: string, seconds: number) => void {
  const tallies = new Map<string, Tally>()
  // The registry calls get() when scraped and reset() from resetMetrics(); both metrics read
  // the same tallies, so resetting either zeroes both. Exposed in the Prometheus text format
  // (the registry's default); the counter's name already ends in _total as that format wants.
  const snapshot = (name: string, help: string, type: 'counter' | 'histogram', values: () => MetricValue<string>[]) =>
    registry.registerMetric({
      name,
      help,
      type,
      aggregator: 'sum',
      get: async () => ({ name, help, type, aggregator: 'sum', values: values() }),
      reset: () => tallies.clear(),
    } as unknown as Metric)
  snapshot('momentry_validations_total', 'Validations by outcome (valid or the invalid code)', 'counter', () =>
    [...tallies].map(([outcome, t]) => ({ value: t.count, labels: { outcome } })),
  )
  const histogram = 'momentry_validation_duration_seconds'
  snapshot(histogram, 'Time to decide a validation, from the whole request received to the answer written', 'histogram', () =>
    [...tallies].flatMap(([outcome, t]) => {
      let cumulative = 0
      const buckets = LATENCY_BUCKETS.map((le, i) => ({ metricName: `${histogram}_bucket`, value: (cumulative += t.buckets[i]!), labels: { le, outcome } }))
      return [
        ...buckets,
        { metricName: `${histogram}_bucket`, value: t.count, labels: { le: '+Inf', outcome } },
        { metricName: `${histogram}_sum`, value: t.sum, labels: { outcome } },
        { metricName: `${histogram}_count`, value: t.count, labels: { outcome } },
      ] as MetricValue<string>[]
    }),
  )
  return (outcome, seconds) => {
    let t = tallies.get(outcome)
    if (!t) tallies.set(outcome, (t = { count: 0, sum: 0, buckets: new Float64Array(LATENCY_BUCKETS.length + 1) }))
    t.count++
    t.sum += seconds
    let i = 0
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++
    t.buckets[i]!++
  }
}

/** One registry per app (never prom-client's global one), so two servers in a process never mix. */
export function createMetrics(validation: ValidationState): HttpMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'momentry_' })
  const cacheCounter = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset()
        this.inc(read())
      },
    })
  cacheCounter('momentry_cache_hits_total', 'Validations answered from the in-memory key cache', () => validation.cache.hits)
  cacheCounter('momentry_cache_misses_total', 'Validations that had to read PostgreSQL', () => validation.cache.misses)
  const observe = verifyMetrics(registry)
  return {
    registry,
    observeVerify(result, started) {
      observe(result.valid ? 'valid' : result.code, (performance.now() - started) / 1000)
    },
  }
}
