import { expect } from 'chai'
import fc from 'fast-check'

import { serviceMessage } from '../../src/core/integrations/http.js'

const res = (text: string) => ({ status: 400, headers: {}, text })

describe('service error messages (untrusted bodies from Gitea and n8n)', () => {
  it('given a bare zod issue from n8n (as a real n8n 1.123 sends it), then the field is named', () => {
    expect(serviceMessage(res('{"code":"invalid_type","expected":"number","received":"undefined","path":["expiresAt"],"message":"Required"}'))).to.equal('expiresAt: Required')
    expect(serviceMessage(res('{"code":401,"message":"Wrong username or password. Do you have caps lock on?","stacktrace":"ResponseError: …"}'))).to.equal(
      'Wrong username or password. Do you have caps lock on?',
    )
  })

  it('given any body at all, then it never throws and gives at most one line of 200 characters', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.record({ message: fc.string(), path: fc.array(fc.oneof(fc.string({ unit: "binary" }), fc.integer())) }).map((o) => JSON.stringify(o))), (text) => {
        const m = serviceMessage(res(text))
        if (m !== undefined) {
          expect(m.length).to.be.at.most(200)
          expect(m).to.not.include('\n')
        }
      }),
    )
  })
})
