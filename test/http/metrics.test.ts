import { expect } from 'chai'

import type { ValidationState } from '../../src/core/validation/validation-state.js'
import type { VerifyResult } from '../../src/core/validation/verify-key.js'
import { createMetrics } from '../../src/http/metrics.js'

/** Only the cache counters are read from the runtime by the metrics. */
const runtime = { cache: { hits: 7, misses: 2 } } as unknown as ValidationState
const valid = { valid: true } as VerifyResult
const unknown = { valid: false, code: 'NOT_FOUND' } as VerifyResult

const line = (text: string, prefix: string) => text.split('\n').find((l) => l.startsWith(prefix))

describe('HTTP metrics (tallies exposed through prom-client)', () => {
  it('given observed verifies, when scraped, then counts, cumulative buckets and sums are in the Prometheus text', async () => {
    const metrics = createMetrics(runtime)
    const now = performance.now()
    metrics.observeVerify(valid, now)
    metrics.observeVerify(valid, now - 3) // 3 ms: above the 2.5 ms bound, within 5 ms
    metrics.observeVerify(unknown, now)
    const text = await metrics.registry.metrics()
    expect(line(text, 'momentry_validations_total{outcome="valid"}')).to.match(/ 2$/)
    expect(line(text, 'momentry_validations_total{outcome="NOT_FOUND"}')).to.match(/ 1$/)
    expect(line(text, 'momentry_validation_duration_seconds_bucket{le="0.0025",outcome="valid"}')).to.match(/ 1$/)
    expect(line(text, 'momentry_validation_duration_seconds_bucket{le="0.005",outcome="valid"}')).to.match(/ 2$/)
    expect(line(text, 'momentry_validation_duration_seconds_bucket{le="+Inf",outcome="valid"}')).to.match(/ 2$/)
    expect(Number(line(text, 'momentry_validation_duration_seconds_sum{outcome="valid"}')!.split(' ')[1])).to.be.within(0.003, 0.01)
    expect(line(text, 'momentry_cache_hits_total')).to.match(/ 7$/)
    expect(text).to.include('# TYPE momentry_validation_duration_seconds histogram')
  })

  it('given observed verifies, when the registry is reset, then no validation is counted any more', async () => {
    const metrics = createMetrics(runtime)
    metrics.observeVerify(valid, performance.now())
    metrics.registry.resetMetrics()
    const text = await metrics.registry.metrics()
    expect(text).not.to.match(/^momentry_validations_total\{/m)
    expect(text).not.to.match(/^momentry_validation_duration_seconds_count\{/m)
    metrics.observeVerify(unknown, performance.now())
    expect(line(await metrics.registry.metrics(), 'momentry_validations_total{outcome="NOT_FOUND"}')).to.match(/ 1$/)
  })

  it('given the process metrics, when scraped, then they carry the momentry_ prefix once (momentry_process_cpu_…, never momentry_process_process_…)', async () => {
    const text = await createMetrics(runtime).registry.metrics()
    expect(text).to.match(/^# TYPE momentry_process_cpu_seconds_total counter$/m)
    expect(text).to.match(/^# TYPE momentry_nodejs_eventloop_lag_seconds gauge$/m)
    expect(text).not.to.include('momentry_process_process_')
    expect(text).not.to.include('momentry_process_nodejs_')
  })
})
