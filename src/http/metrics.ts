import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

import type { ValidationRuntime } from '../core/validation/runtime.js'
import type { VerifyResult } from '../core/validation/verify-key.js'

export interface HttpMetrics {
  registry: Registry
  /** Count one verification by outcome and record how long it took since `started` (performance.now()). */
  observeVerify(result: VerifyResult, started: number): void
}

/** One registry per app (never prom-client's global one), so two servers in a process never mix. */
export function createMetrics(validation: ValidationRuntime): HttpMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'momentry_process_' })
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
  const validations = new Counter({ name: 'momentry_validations_total', help: 'Validations by outcome (valid or the invalid code)', labelNames: ['outcome'], registers: [registry] })
  const latency = new Histogram({
    name: 'momentry_validation_duration_seconds',
    help: 'Time to decide a validation',
    labelNames: ['outcome'],
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1],
    registers: [registry],
  })
  // Label children bound once per outcome: the per-request cost is a map lookup, not label hashing.
  const bound = new Map<string, { count: { inc(): void }; time: { observe(v: number): void } }>()
  return {
    registry,
    observeVerify(result, started) {
      const outcome = result.valid ? 'valid' : result.code
      let b = bound.get(outcome)
      if (!b) bound.set(outcome, (b = { count: validations.labels(outcome), time: latency.labels(outcome) }))
      b.count.inc()
      b.time.observe((performance.now() - started) / 1000)
    },
  }
}
