import Fastify from 'fastify'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { STATUS_CODES, createServer } from 'node:http'
import type { RequestListener, ServerOptions } from 'node:http'
import type { Socket } from 'node:net'

import { withActor } from '../core/actor.js'
import type { CoreContext } from '../core/context.js'
import { checkReadiness } from '../core/readiness.js'
import { parseInput } from '../core/validate-input.js'
import type { VerifyResult } from '../core/validation/verify-key.js'
import { verifyKey } from '../core/validation/verify-key.js'
import { DOCS_FILES, DOCS_HTML, readDocsFile } from './docs.js'
import { HttpError, RETRY_AFTER_SECONDS, errorResponse, toHttpError } from './errors.js'
import { createMetrics } from './metrics.js'
import { buildOpenApi } from './openapi.js'
import type { RouteSpec } from './routes.js'
import { routes, verifyRoute } from './routes.js'
import { sourceIpRule } from './source-ip.js'
import { verifyFastPath } from './verify-fast-path.js'

export interface AppOptions {
  /** Largest accepted request body in bytes (default 16 KiB: keys are small). */
  bodyLimit?: number
  /** Serve POST /v1/keys/verify on a framework-free path (what `serve` does). */
  fastVerify?: boolean
  version?: string
}

function sendError(reply: FastifyReply, e: HttpError): FastifyReply {
  const { status, headers, body } = errorResponse(e)
  return reply.code(status).headers(headers).send(body)
}

/**
 * A request Node's HTTP parser could not read (bad syntax, headers too large, too slow),
 * answered on the socket in the API's error shape instead of fastify's own.
 */
function clientError(error: NodeJS.ErrnoException, socket: Socket): void {
  // A reset or already destroyed connection has nobody left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const e =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new HttpError(408, 'REQUEST_TIMEOUT', 'the request did not arrive in time')
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? new HttpError(431, 'HEADERS_TOO_LARGE', 'the request headers are too large')
        : new HttpError(400, 'BAD_REQUEST', 'the request is not valid HTTP')
  if (socket.writable) {
    const { status, headers, body } = errorResponse(e)
    const lines = Object.entries({ ...headers, connection: 'close' }).map(([name, value]) => `${name}: ${value}\r\n`)
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${lines.join('')}\r\n${body}`)
  }
  socket.destroy(error)
}

/** How long an idle keep-alive connection stays open (Node's default, said here so it is ours). */
const KEEP_ALIVE_TIMEOUT_MS = 5000

/**
 * The bounds on a slow client: its headers within headersTimeout, its whole request within
 * requestTimeout (then 408 and the connection closed, by clientError), an idle keep-alive
 * connection for 5 s. Node checks them every connectionsCheckingInterval (30 s by default,
 * which would let a 10 s bound hold a socket 40 s): here a quarter of the shorter bound, at
 * most 1 s.
 */
function serverTimeouts(t: CoreContext['config']['serve']): ServerOptions {
  const headersTimeout = t.headersTimeoutSeconds * 1000
  const requestTimeout = t.requestTimeoutSeconds * 1000
  return {
    headersTimeout,
    requestTimeout,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    connectionsCheckingInterval: Math.min(1000, Math.ceil(Math.min(headersTimeout, requestTimeout) / 4)),
  }
}

/**
 * Admin routes: a bearer key with the `admin` scope, or one of the narrower scopes the route
 * also accepts (`leaks:report`); the change is audited as `api:<key id>`.
 */
async function authorize(ctx: CoreContext, req: FastifyRequest, ip: string, scopes: readonly string[] = ['admin']): Promise<CoreContext> {
  const named = scopes.join(' or ')
  const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')
  if (!match) throw new HttpError(401, 'UNAUTHORIZED', `send Authorization: Bearer <a momentry key with the ${named} scope>`)
  const result = await verifyKey(ctx, { key: match[1]!, ip, anyOfScopes: scopes })
  if (result.valid) return withActor(ctx, `api:${result.key.id}`)
  switch (result.code) {
    case 'INSUFFICIENT_SCOPE':
      throw new HttpError(403, 'FORBIDDEN', `the key is valid but lacks the ${named} scope`)
    case 'BLACKLISTED':
      throw new HttpError(403, 'BLACKLISTED', 'requests from this address are blacklisted')
    case 'RATE_LIMITED':
      throw new HttpError(429, 'RATE_LIMITED', 'too many failed attempts from this address', { 'retry-after': String(result.retryAfterSeconds ?? 1) })
    default:
      throw new HttpError(401, result.code, 'the admin key is not valid')
  }
}

/**
 * The fastify app of `momentry serve`. Routes come from `routes.ts` and only call the
 * core; the same zod schemas validate requests and generate /openapi.json.
 */
export function buildApp(ctx: CoreContext, options: AppOptions = {}): FastifyInstance {
  const bodyLimit = options.bodyLimit ?? 16 * 1024
  const metrics = createMetrics(ctx.validation)
  const clientIp = sourceIpRule(ctx.config.trustedProxies, ctx.log)
  const app = Fastify({
    bodyLimit,
    logger: false,
    return503OnClosing: true,
    clientErrorHandler: clientError,
    // A URL the router cannot read (a bad percent-escape, a path segment over its 100-character
    // limit) is answered in the API's error shape, not fastify's own.
    frameworkErrors: (error, _req, reply) =>
      sendError(
        reply,
        error.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? new HttpError(414, 'URI_TOO_LONG', 'a path segment is longer than 100 characters')
          : new HttpError(400, 'BAD_REQUEST', 'the URL is not valid (a malformed percent-escape)'),
      ),
    // Our own Node server, so its client timeouts are ours (with a server factory, fastify's
    // connectionTimeout/keepAliveTimeout/requestTimeout are not applied). With fastVerify,
    // POST /v1/keys/verify is answered before the framework (same schema, core call, metrics
    // and error shape); inject() and every other route go through fastify.
    serverFactory: (handler: RequestListener) =>
      createServer(serverTimeouts(ctx.config.serve), options.fastVerify ? verifyFastPath(ctx, { metrics, bodyLimit, clientIp }, handler) : handler),
  })
  // JSON only: a text/plain body is a client mistake worth a clear 415, not a 400 later.
  app.removeContentTypeParser('text/plain')
  let openapi: object | undefined

  const register = (r: RouteSpec) =>
    app.route({
      method: r.method.toUpperCase() as 'GET',
      url: r.path.replace(/\{(\w+)\}/g, ':$1'),
      ...(r.bodyLimit ? { bodyLimit: r.bodyLimit } : {}),
      handler: async (req, reply) => {
        const started = r === verifyRoute ? performance.now() : 0
        // Who is asking comes first: an unauthenticated caller learns nothing about inputs.
        // The admin key is judged by the connection's own address, never a body's.
        const caller = r.admin ? await authorize(ctx, req, clientIp(req.socket.remoteAddress, undefined).ip, r.scopes) : ctx
        // No body at all reads as {} (each field is then named as missing); a JSON null is
        // refused as not an object, as the verify fast path refuses it.
        const body = r.body ? parseInput(r.body, req.body === undefined ? {} : req.body) : undefined
        const query = r.query ? parseInput(r.query, req.query ?? {}) : {}
        const params = r.params ? parseInput(r.params, req.params ?? {}) : {}
        const { ip, via } = clientIp(req.socket.remoteAddress, (body as { ip?: string } | undefined)?.ip)
        const result = await r.handler({ ctx: caller, body, query, params, ip, via })
        if (started) metrics.observeVerify(result as VerifyResult, started)
        return reply.code(r.status).send(result)
      },
    })
  for (const r of routes) register(r)

  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_req, reply) => {
    const { ready, checks } = await checkReadiness(ctx)
    if (!ready) reply.header('retry-after', String(RETRY_AFTER_SECONDS))
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks })
  })
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()))
  app.get('/openapi.json', async () => (openapi ??= buildOpenApi(routes, options.version ?? '0.0.0')))
  app.get('/docs', async (_req, reply) => reply.type('text/html; charset=utf-8').send(DOCS_HTML))
  app.get<{ Params: { file: string } }>('/docs/:file', async (req, reply) => {
    const type = DOCS_FILES.get(req.params.file)
    if (!type) throw new HttpError(404, 'NOT_FOUND', 'no such file')
    return reply.type(type).header('cache-control', 'public, max-age=86400').send(await readDocsFile(req.params.file))
  })

  app.setNotFoundHandler((req, reply) => sendError(reply, new HttpError(404, 'NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`)))
  app.setErrorHandler((error, req, reply) => sendError(reply, toHttpError(error as FastifyError, { log: ctx.log, bodyLimit: req.routeOptions.bodyLimit ?? bodyLimit })))
  return app
}
