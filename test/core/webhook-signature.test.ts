import { expect } from 'chai'
import fc from 'fast-check'

import { newWebhookSecret, signWebhook, verifyWebhookSignature, WEBHOOK_SECRET } from '../../src/core/webhooks/signature.js'

describe('Standard Webhooks signatures', () => {
  it('given the published Standard Webhooks test vector, then the signature matches it', () => {
    const sig = signWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')
    expect(sig).to.equal('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=')
  })

  it('given any body, then a signature verifies only for the same secret, id, timestamp and body', () => {
    fc.assert(
      fc.property(fc.string(), fc.string({ minLength: 1 }), fc.integer({ min: 0, max: 2 ** 31 }), (body, tamper, ts) => {
        const secret = newWebhookSecret()
        const header = signWebhook(secret, 'msg_x', ts, body)
        return (
          verifyWebhookSignature(secret, 'msg_x', ts, body, `v1,bogus ${header}`) &&
          !verifyWebhookSignature(secret, 'msg_x', ts, body + tamper, header) &&
          !verifyWebhookSignature(secret, 'msg_x', ts + 1, body, header) &&
          !verifyWebhookSignature(newWebhookSecret(), 'msg_x', ts, body, header)
        )
      }),
      { numRuns: 200 },
    )
  })

  it('given a generated secret, then it has the whsec_ form with 24 random bytes', () => {
    const s = newWebhookSecret()
    expect(s).to.match(WEBHOOK_SECRET)
    expect(Buffer.from(s.slice(6), 'base64')).to.have.length(24)
  })
})
