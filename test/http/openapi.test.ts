import { Validator } from '@seriousme/openapi-schema-validator'
import { expect } from 'chai'

import { buildOpenApi } from '../../src/http/openapi.js'
import { routes } from '../../src/http/routes.js'

describe('/openapi.json', () => {
  const doc = buildOpenApi(routes, '1.2.3') as any

  it('given the generated document, when checked against the official OpenAPI 3.1 schema, then it is valid', async () => {
    const validator = new Validator()
    const res = await validator.validate(doc)
    expect(res.errors ?? [], JSON.stringify(res.errors, null, 2)).to.deep.equal([])
    expect(res.valid).to.equal(true)
    expect(validator.version).to.equal('3.1')
  })

  it('given every route of the server, then each has an operation with its method, a success response and a request schema where it takes one', () => {
    for (const r of routes) {
      const op = doc.paths[r.path]?.[r.method]
      expect(op, `${r.method} ${r.path}`).to.be.an('object')
      expect(op.responses).to.have.property(String(r.status))
      if (r.body) expect(op.requestBody.content['application/json'].schema, r.path).to.be.an('object')
      if (r.admin) expect(op.security).to.deep.equal([{ adminKey: [] }])
      for (const code of r.errors) expect(op.responses[String(code)].content['application/json'].schema.$ref).to.equal('#/components/schemas/Error')
    }
  })

  it('given the admin routes, then lists answer {items} (with nextCursor where they page) and single keys answer {key}, as the README says', () => {
    const body = (method: string, path: string) => {
      const status = routes.find((r) => r.method === method && r.path === path)!.status
      const ref: string = doc.paths[path][method].responses[String(status)].content['application/json'].schema.$ref
      const schema = doc.components.schemas[ref.replace('#/components/schemas/', '')]
      return Object.keys(schema.properties).sort()
    }
    expect(body('get', '/v1/admin/api-keys')).to.deep.equal(['items', 'nextCursor'])
    expect(body('get', '/v1/admin/audit')).to.deep.equal(['items', 'nextCursor'])
    expect(body('get', '/v1/admin/anomalies')).to.deep.equal(['items'])
    expect(body('get', '/v1/admin/lockouts')).to.deep.equal(['items'])
    expect(body('get', '/v1/admin/api-keys/{id}')).to.deep.equal(['history', 'key'])
    expect(body('patch', '/v1/admin/api-keys/{id}')).to.deep.equal(['key'])
    expect(body('delete', '/v1/admin/api-keys/{id}')).to.deep.equal(['key'])
    expect(body('post', '/v1/admin/api-keys')).to.deep.equal(['key', 'secret'])
    expect(body('post', '/v1/admin/api-keys/{id}/rotate')).to.deep.equal(['key', 'previous', 'secret'])
  })

  it('given the verify route, then its response is the VerifyResult union with every invalid code', () => {
    const union = doc.components.schemas.VerifyResult
    const invalid = union.oneOf.find((o: any) => o.properties.valid.enum?.[0] === false)
    expect(invalid.properties.code.enum).to.include.members(['MALFORMED', 'NOT_FOUND', 'DISABLED', 'REVOKED', 'EXPIRED', 'INSUFFICIENT_SCOPE', 'RATE_LIMITED', 'BLACKLISTED'])
  })
})
