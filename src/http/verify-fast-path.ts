import type { IncomingMessage, OutgoingHttpHeaders, RequestListener, ServerResponse } from 'node:http'

import type { CoreContext } from '../core/context.js'
import { parseInput } from '../core/validate-input.js'
import type { VerifyResult } from '../core/validation/verify-key.js'
import { verifyKey, verifyKeyInMemory } from '../core/validation/verify-key.js'
import type { HttpError } from './errors.js'
import { JSON_CONTENT_TYPE, emptyBody, errorResponse, notJson, payloadTooLarge, toHttpError } from './errors.js'
import type { HttpMetrics } from './metrics.js'
import type { ClientIpRule } from './source-ip.js'
import { verifyInput, verifyRoute } from './routes.js'
import type { VerifyBody } from './schemas.js'
import { everydayVerifyBody, everydayVerifyBytes, verifyBody } from './schemas.js'

const JSON_TYPE = /^application\/json\s*(;|$)/i

/**
 * An answer's body and headers. Node reads a headers object given to writeHead and never
 * changes it (with headers set before, as the drain's `connection: close`, it copies them),
 * so one serves many answers; frozen, so that a Node that did would fail loudly, not leak.
 */
interface Answer {
  body: string
  headers: Readonly<OutgoingHttpHeaders>
}
const toAnswer = (result: VerifyResult): Answer => {
  const body = JSON.stringify(result)
  return { body, headers: Object.freeze({ 'content-type': JSON_CONTENT_TYPE, 'content-length': Buffer.byteLength(body) }) }
}

function sendError(res: ServerResponse, e: HttpError): void {
  const { status, headers, body } = errorResponse(e)
  res.writeHead(status, headers)
  res.end(body)
}

/**
 * Whether parsed JSON holds a key that fastify's parser refuses (secure-json-parse's
 * defaults): an own `__proto__`, or a `constructor` object with an own `prototype`. Only
 * asked of a body the schema already refused, so a valid request never pays for the walk;
 * a loop rather than recursion, since a body may nest thousands of levels deep.
 */
function hasForbiddenKey(json: unknown): boolean {
  const pending = [json]
  for (let value = pending.pop(); value !== undefined; value = pending.pop()) {
    if (value === null || typeof value !== 'object') continue
    if (Object.hasOwn(value, '__proto__')) return true
    const ctor = Object.hasOwn(value, 'constructor') ? (value as { constructor: unknown }).constructor : undefined
    if (ctor !== null && typeof ctor === 'object' && Object.hasOwn(ctor, 'prototype')) return true
    for (const v of Object.values(value)) pending.push(v)
  }
  return false
}

/**
 * POST /v1/keys/verify without the framework: the route that is called millions of times
 * skips fastify's per-request machinery (hooks, reply object, content-type parsers) but
 * keeps everything that defines it — the route's zod schema, its core call, the metrics
 * and the `{error: {code, message}}` shape. A cached key from a clean IP is answered
 * synchronously, inside the request's 'end' event, with no promise in between. Anything
 * else, including a verify request that is not JSON, goes to `fallback` (fastify), which
 * answers it as usual.
 */
export function verifyFastPath(
  ctx: CoreContext,
  { metrics, bodyLimit, clientIp }: { metrics: HttpMetrics; bodyLimit: number; clientIp: ClientIpRule },
  fallback: RequestListener,
): RequestListener {
  // Which requests are ours comes from the route spec, read once: the test below runs on
  // every request of the server, so it compares two strings and builds nothing.
  const method = verifyRoute.method.toUpperCase()
  const path = verifyRoute.path
  if (path.includes('{')) throw new Error(`the verify fast path matches one exact path, not a template (${path})`)
  // A valid answer is the same text for as long as its key's cache entry lives: the view
  // is frozen and shared by the cache, so its JSON and headers are kept beside it (and go with it).
  const validAnswers = new WeakMap<object, Answer>()
  // A body in its everyday shape is parsed without zod's machinery, to the same result; only
  // while the route's schema is the one that shortcut is held to.
  const ours = verifyRoute.body === verifyBody
  const everyday = ours ? everydayVerifyBody : () => undefined
  const everydayBytes = ours ? everydayVerifyBytes : () => undefined
  const answerOf = (result: VerifyResult): Answer => {
    if (!result.valid) return toAnswer(result)
    let answer = validAnswers.get(result.key)
    if (answer === undefined) validAnswers.set(result.key, (answer = toAnswer(result)))
    return answer
  }
  const reply = (res: ServerResponse, result: VerifyResult, started: number) => {
    metrics.observeVerify(result, started)
    const { body, headers } = answerOf(result)
    res.writeHead(verifyRoute.status, headers)
    res.end(body)
  }
  const fail = (res: ServerResponse, error: unknown) => {
    // A failure after the answer started (a throw while writing it) can only end the connection.
    if (res.headersSent) return void res.destroy()
    sendError(res, toHttpError(error as Error, { log: ctx.log, bodyLimit }))
  }
  /** Answer the request: synchronously when the core can decide from memory, else after its I/O. */
  const decide = (req: IncomingMessage, res: ServerResponse, body: VerifyBody, started: number): void => {
    const input = verifyInput(body, clientIp(req.socket.remoteAddress, body.ip))
    const decided = verifyKeyInMemory(ctx, input)
    if (decided) return reply(res, decided, started)
    verifyKey(ctx, input)
      .then((result) => reply(res, result, started))
      .catch((error: unknown) => fail(res, error))
  }
  /** The body parsed as fastify's JSON parser and the route's schema would, or their refusal thrown. */
  const parse = (text: string): VerifyBody => {
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      // Refusals as fastify's JSON parser makes them (it drops a leading BOM); only a body
      // JSON.parse refused gets here, so the hot path is left as it was.
      if (text.length === 0) throw emptyBody()
      if (text.charCodeAt(0) !== 0xfeff) throw notJson()
      try {
        json = JSON.parse(text.slice(1))
      } catch {
        throw notJson()
      }
    }
    try {
      return everyday(json) ?? parseInput(verifyRoute.body, json)
    } catch (error) {
      throw hasForbiddenKey(json) ? notJson() : error
    }
  }
  /**
   * Answer 413 at once, keeping nothing more of the body; Node discards the rest as it
   * arrives (as fastify does), so the client reads the answer rather than a reset.
   */
  const tooLarge = (res: ServerResponse) => sendError(res, payloadTooLarge(bodyLimit))
  return (req, res) => {
    const type = req.headers['content-type']
    if (req.method !== method || req.url !== path || (type !== 'application/json' && !JSON_TYPE.test(type ?? ''))) {
      fallback(req, res)
      return
    }
    const declared = Number(req.headers['content-length'] ?? 0)
    if (declared > bodyLimit) return tooLarge(res)
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size <= bodyLimit) chunks.push(chunk)
      else {
        req.off('data', onData)
        req.resume()
        tooLarge(res)
      }
    }
    req.on('data', onData)
    req.on('end', () => {
      if (size > bodyLimit) return
      // The validation's time starts with the whole request in hand (as on fastify's route):
      // waiting for the body to arrive is the network's, not the decision's.
      const started = performance.now()
      try {
        // A body in one piece and its commonest shape is read off its bytes; any other is decoded and parsed.
        const one = chunks.length === 1 ? chunks[0]! : undefined
        const body = (one && everydayBytes(one)) ?? parse((one ?? Buffer.concat(chunks)).toString('utf8'))
        decide(req, res, body, started)
      } catch (error) {
        fail(res, error)
      }
    })
  }
}
