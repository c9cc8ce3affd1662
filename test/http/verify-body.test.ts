// The verify route's everyday-shape parse (`everydayVerifyBody`) against the route's zod
// schema: whatever it accepts, the schema accepts with the same result, and the shapes real
// clients send are all accepted by it (else the shortcut would quietly do nothing).
import { expect } from 'chai'
import fc from 'fast-check'

import { everydayVerifyBody, everydayVerifyBytes, verifyBody } from '../../src/http/schemas.js'

const scope = fc.oneof(
  fc.stringMatching(/^[a-z0-9][a-z0-9_.:*-]{0,63}$/),
  fc.constantFrom('admin', 'keys:read', 'read:repository', 'billing.export', 'repo:*'),
)
const ipv4 = fc.ipV4()
/** Values a hostile or careless client might put anywhere. */
const anything = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ minLength: 4090, maxLength: 4100 }),
  ipv4,
  fc.ipV6(),
  fc.ipV4Extended(),
  fc.constantFrom('01.2.3.4', '1.2.3.256', ' 1.2.3.4', '1.2.3.4\n', '::ffff:1.2.3.4', 'Admin', '', 'a b'),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(scope, fc.string(), fc.integer(), fc.constant(null)), { maxLength: 70 }),
  fc.array(scope, { minLength: 60, maxLength: 70 }),
  fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }),
)
/** Bodies near the everyday shape, and far from it. */
const body = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record(
      { key: fc.oneof(fc.string({ maxLength: 80 }), anything), ip: fc.oneof(ipv4, anything), requiredScopes: fc.oneof(fc.array(scope, { maxLength: 64 }), anything) },
      { requiredKeys: [] },
    ),
  },
  fc.dictionary(fc.constantFrom('key', 'ip', 'requiredScopes', 'Key', 'scopes', '__proto__', 'constructor', 'toString'), anything, { maxKeys: 4 }),
  anything,
  fc.array(anything, { maxLength: 3 }),
)

describe('the verify body: its everyday-shape parse agrees with the schema', () => {
  it('property: whatever the everyday parse accepts (JSON-parsed), the schema accepts, to a deep-equal result', () => {
    let accepted = 0
    fc.assert(
      fc.property(body, (input) => {
        const json: unknown = JSON.parse(JSON.stringify(input) ?? 'null')
        const fast = everydayVerifyBody(json)
        if (fast === undefined) return
        accepted++
        const zod = verifyBody.safeParse(json)
        expect(zod.success, JSON.stringify(json)).to.equal(true)
        expect(fast).to.deep.equal(zod.data)
      }),
      { numRuns: 3000 },
    )
    // The property says something only if the parse accepts a fair share of the inputs.
    expect(accepted).to.be.greaterThan(300)
  })

  it('property: every body of the everyday shape (a key, perhaps an IPv4 address, perhaps up to 64 scopes) is accepted, to the schema’s result', () => {
    const everyday = fc.record(
      { key: fc.string({ maxLength: 4096 }), ip: ipv4, requiredScopes: fc.array(scope, { maxLength: 64 }) },
      { requiredKeys: ['key'] },
    )
    fc.assert(
      fc.property(everyday, (input) => {
        const json: unknown = JSON.parse(JSON.stringify(input))
        expect(everydayVerifyBody(json)).to.deep.equal(verifyBody.parse(json))
      }),
      { numRuns: 2000 },
    )
  })

  it('given what the schema decides itself (an IPv6 address, a field too many, a key too long, a bad scope, a JSON own __proto__), then the everyday parse leaves it to the schema', () => {
    const key = 'mtry_svc_x'
    for (const json of [
      { key, ip: '2001:db8::1' },
      { key, extra: 1 },
      { key: 'k'.repeat(4097) },
      { key, requiredScopes: ['Admin'] },
      { key, requiredScopes: Array.from({ length: 65 }, () => 'admin') },
      { key, ip: null },
      JSON.parse('{"key":"mtry_svc_x","__proto__":{"ip":"1.2.3.4"}}') as unknown,
      [key],
      null,
      'key',
    ]) {
      expect(everydayVerifyBody(json), JSON.stringify(json)).to.equal(undefined)
    }
  })

  it('given a body the schema accepts with an IPv4 address and scopes, then the parse gives a copy of the scopes (the input is not handed on)', () => {
    const json = { key: 'mtry_svc_x', ip: '192.0.2.7', requiredScopes: ['admin', 'keys:read'] }
    const fast = everydayVerifyBody(json)
    expect(fast).to.deep.equal({ key: 'mtry_svc_x', ip: '192.0.2.7', requiredScopes: ['admin', 'keys:read'] })
    expect(fast?.requiredScopes).to.not.equal(json.requiredScopes)
  })

  describe('read off the raw bytes (`everydayVerifyBytes`)', () => {
    /** A JSON string literal's inside, as a careless or hostile client might write it (escapes and all). */
    const inside = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.string({ unit: 'binary', maxLength: 20 }),
      fc.stringMatching(/^mtry_[a-z]{3}_[A-Za-z0-9]{0,40}$/),
      fc.constantFrom('\\u0041', '\\"', '\\\\', 'é', '1.2.3.4', '01.2.3.4', '1.2.3.256', '::1', ' ', ''),
      ipv4,
    )
    const space = fc.constantFrom('', '', '', ' ', '\n', '\t')
    /** Texts at, near and far from the shapes the byte parse takes, and bytes that are no text at all. */
    const shaped = (key: fc.Arbitrary<string>, ip: fc.Arbitrary<string>) =>
      fc.tuple(key, fc.option(ip, { nil: undefined }), fc.boolean(), space).map(([k, i, ipFirst, sp]) => {
        if (i === undefined) return `{"key":${sp}"${k}"}`
        return ipFirst ? `{"ip":"${i}",${sp}"key":"${k}"}` : `{"key":"${k}","ip":${sp}"${i}"}`
      })
    const text = fc.oneof(
      { weight: 3, arbitrary: shaped(fc.stringMatching(/^mtry_[a-z]{3}_[A-Za-z0-9]{0,40}$/), fc.oneof(ipv4, inside)) },
      shaped(inside, inside),
      body.map((b) => JSON.stringify(b) ?? 'null'),
      fc.string({ maxLength: 80 }).map((k) => `\ufeff{"key":"${k}"}`),
      fc.string(),
    )

    it('property: whatever it accepts, JSON.parse and the schema accept, to a deep-equal result', () => {
      let accepted = 0
      fc.assert(
        fc.property(fc.oneof(text.map((t) => Buffer.from(t, 'utf8')), fc.uint8Array({ maxLength: 80 }).map((a) => Buffer.from(a))), (bytes) => {
          const fast = everydayVerifyBytes(bytes)
          if (fast === undefined) return
          accepted++
          const json: unknown = JSON.parse(bytes.toString('utf8'))
          expect(fast).to.deep.equal(verifyBody.parse(json))
        }),
        { numRuns: 5000 },
      )
      expect(accepted).to.be.greaterThan(300)
    })

    it('property: a key and perhaps an IPv4 address, as JSON.stringify writes them in either order, is accepted when the key needs no escape', () => {
      const plainKey = fc.stringMatching(/^[\x20\x21\x23-\x5b\x5d-\x7e]{0,200}$/)
      fc.assert(
        fc.property(plainKey, fc.option(ipv4, { nil: undefined }), fc.boolean(), (key, ip, ipFirst) => {
          const json = ip === undefined ? { key } : ipFirst ? { ip, key } : { key, ip }
          const bytes = Buffer.from(JSON.stringify(json))
          expect(everydayVerifyBytes(bytes), bytes.toString()).to.deep.equal(verifyBody.parse(json))
        }),
        { numRuns: 2000 },
      )
      expect(everydayVerifyBytes(Buffer.from(JSON.stringify({ key: 'k'.repeat(4096) })))).to.deep.equal({ key: 'k'.repeat(4096) })
    })

    it('given a body JSON.parse would read differently or the schema refuses, then it is left to them', () => {
      for (const t of [
        '{"key":"mtry_svc_\\u0041"}', // an escape: JSON.parse's value is not the text
        '{"key":"mtry_svc_é"}', // not ASCII
        '\ufeff{"key":"mtry_svc_x"}', // a BOM, which fastify's parser drops
        '{ "key":"mtry_svc_x"}',
        '{"key":"mtry_svc_x","key":"other"}', // a repeated name: the last one counts
        '{"key":"mtry_svc_x","ip":"1.2.3.256"}',
        '{"key":"mtry_svc_x","ip":"01.2.3.4"}',
        '{"key":"mtry_svc_x","ip":"::1"}',
        '{"key":"mtry_svc_x","requiredScopes":[]}',
        `{"key":"${'k'.repeat(4097)}"}`,
        '{"key":"mtry_svc_x"}\n',
        '{"key":"mtry_svc_x"',
      ]) {
        expect(everydayVerifyBytes(Buffer.from(t)), t).to.equal(undefined)
      }
    })
  })
})
