import { expect } from 'chai'

import { systemClock } from '../../src/core/clock.js'
import { loadConfig } from '../../src/core/config.js'
import type { Sql } from '../../src/core/db/connect.js'
import { createEventBus } from '../../src/core/events.js'
import { silentLogger } from '../../src/core/log.js'
import type { Redis } from '../../src/core/redis.js'
import { ValidationState } from '../../src/core/validation/validation-state.js'

// Failure counting's readiness, against a Redis factory the test controls (counting itself
// is covered against real Redis and PostgreSQL by the verifyKey, lockout and fault tests).

describe('ValidationState: failure counting made ready ahead of the first refusal', () => {
  it('given counting reset (Redis came back) while the first load still waits, when the new load is done and then the old one, then counting stays ready', async () => {
    let releaseFirst!: () => void
    let calls = 0
    // Memory counting either way (no Redis client is ever handed over): only the order of the loads matters here.
    const redis = (): Promise<Redis | undefined> => (calls++ === 0 ? new Promise((r) => (releaseFirst = () => r(undefined))) : Promise.resolve(undefined))
    const config = loadConfig({ ...process.env, REDIS_URL: 'redis://127.0.0.1:1' })
    const state = new ValidationState({ sql: () => ({}) as Sql, redis, connectedRedis: () => undefined, bus: createEventBus(silentLogger), config, clock: systemClock, log: silentLogger })
    const first = state.prepareFailureCounting()
    expect(state.failureCountingReady).to.equal(false)
    state.resetCounting()
    await state.prepareFailureCounting()
    await new Promise((r) => setImmediate(r))
    expect(state.failureCountingReady, 'the new load is done').to.equal(true)
    releaseFirst()
    await first
    await new Promise((r) => setImmediate(r))
    expect(state.failureCountingReady, 'the old load finishing late changes nothing').to.equal(true)
  })
})
