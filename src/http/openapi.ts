import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi'
import * as z from 'zod'

import type { RouteSpec } from './routes.js'
import { errorSchema, healthSchema } from './schemas.js'

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid request (body, query or path)',
  401: 'Missing or invalid admin key',
  403: 'The key lacks the admin scope (or, where accepted, leaks:report), or the source IP is blacklisted',
  404: 'Not found: no such key, or the address is not locked out',
  409: 'Conflict with the key’s current state',
  413: 'Body too large',
  415: 'The body is not JSON (send content-type: application/json)',
  429: 'Too many failed attempts from this IP (see Retry-After)',
  503: 'PostgreSQL is unreachable, or the server is shutting down',
}

/** OpenAPI 3.1 for every route, generated from the same zod schemas the handlers use. */
export function buildOpenApi(routes: RouteSpec[], version: string): object {
  const registry = new OpenAPIRegistry()
  const bearer = registry.registerComponent('securitySchemes', 'adminKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'A momentry key with the `admin` scope (`POST /v1/leaks` also accepts `leaks:report`)',
  })
  const json = (schema: z.ZodType) => ({ content: { 'application/json': { schema } } })
  for (const r of routes) {
    registry.registerPath({
      method: r.method,
      path: r.path,
      summary: r.summary,
      tags: [r.tag],
      ...(r.admin ? { security: [{ [bearer.name]: [] }] } : {}),
      ...(r.scopes ? { description: `The bearer key needs one of the scopes ${r.scopes.map((x) => `\`${x}\``).join(', ')}.` } : {}),
      request: {
        ...(r.body ? { body: { required: true, ...json(r.body) } } : {}),
        ...(r.query ? { query: r.query as z.ZodObject } : {}),
        ...(r.params ? { params: r.params as z.ZodObject } : {}),
      },
      responses: {
        [r.status]: { description: 'Success', ...json(r.response) },
        // Every route can meet a non-JSON body (if it takes one) and a database that is down.
        ...Object.fromEntries([...r.errors, ...(r.body ? [415] : []), 503].map((code) => [code, { description: ERROR_TEXT[code] ?? 'Error', ...json(errorSchema) }])),
      },
    })
  }
  const text = (summary: string) => ({ description: summary, content: { 'text/plain': { schema: z.string() } } })
  registry.registerPath({ method: 'get', path: '/healthz', summary: 'Liveness', tags: ['ops'], responses: { 200: { description: 'Alive', ...json(healthSchema) } } })
  registry.registerPath({
    method: 'get',
    path: '/readyz',
    summary: 'Readiness: PostgreSQL (and Redis when configured) reachable, and in serve the LISTEN connection that carries invalidations up',
    tags: ['ops'],
    responses: { 200: { description: 'Ready', ...json(healthSchema) }, 503: { description: 'Not ready', ...json(healthSchema) } },
  })
  registry.registerPath({ method: 'get', path: '/metrics', summary: 'Prometheus metrics', tags: ['ops'], responses: { 200: text('Prometheus text format') } })
  registry.registerPath({ method: 'get', path: '/openapi.json', summary: 'This document', tags: ['ops'], responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: z.object({}).passthrough() } } } } })
  registry.registerPath({ method: 'get', path: '/docs', summary: 'Swagger UI', tags: ['ops'], responses: { 200: { description: 'HTML', content: { 'text/html': { schema: z.string() } } } } })
  registry.registerPath({
    method: 'get',
    path: '/docs/{file}',
    summary: 'Swagger UI’s own scripts and styles',
    tags: ['ops'],
    request: { params: z.object({ file: z.string().meta({ description: 'e.g. swagger-ui-bundle.js' }) }) },
    responses: { 200: { description: 'The file (JavaScript, CSS or PNG)', content: { 'application/octet-stream': { schema: z.string() } } }, 404: { description: 'No such file', ...json(errorSchema) } },
  })
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'momentry', version, description: 'Validate and manage momentry API keys over HTTP.' },
  })
}
