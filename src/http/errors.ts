import type { FastifyError } from 'fastify'

import type { CoreContext } from '../core/context.js'
import { classifyPostgresError } from '../core/db/connect.js'
import { MomentryError } from '../core/errors.js'

/** The Content-Type of every JSON answer, valid or not. */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8'

/** An error with its HTTP status; rendered as `{error: {code, message}}` by `errorResponse`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
  }
}

// The refusals of a request body, made here once so that the verify fast path and fastify
// (which meet the same requests) answer them in the same words.
export const notJson = () => new HttpError(400, 'BAD_REQUEST', 'the body is not valid JSON')
export const emptyBody = () => new HttpError(400, 'BAD_REQUEST', 'the body is empty: send a JSON object')
export const payloadTooLarge = (bodyLimit: number) => new HttpError(413, 'PAYLOAD_TOO_LARGE', `the request body is larger than ${bodyLimit} bytes`)
export const unsupportedMediaType = () => new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send Content-Type: application/json')

/** What an error answer is made of, ready for any writer (fastify's reply, a raw ServerResponse, a socket). */
export interface ErrorResponse {
  status: number
  headers: Record<string, string>
  body: string
}

/** The one writer of the `{error: {code, message}}` body and its headers (SPEC §11). */
export function errorResponse(e: HttpError): ErrorResponse {
  const body = JSON.stringify({ error: { code: e.code, message: e.message } })
  return { status: e.status, headers: { ...e.headers, 'content-type': JSON_CONTENT_TYPE, 'content-length': String(Buffer.byteLength(body)) }, body }
}

/**
 * What an HTTP client is told of a server-side failure (5xx): what happened in general and
 * what it can do, never the reason itself — that names hosts, databases, socket paths or a
 * third party's answer, which are the operator's to read in the log.
 */
const PUBLIC_SERVER_MESSAGES: Record<number, string> = {
  502: 'a service momentry depends on failed; try again later',
  503: 'momentry cannot serve this right now (a service it depends on is unavailable); try again shortly',
}
const UNEXPECTED = 'unexpected error; see the server log'
/** When a client may try again after a 503 (a database or Redis away: restarts take seconds). */
export const RETRY_AFTER_SECONDS = 2
const retryAfter = (status: number): Record<string, string> => (status === 503 ? { 'retry-after': String(RETRY_AFTER_SECONDS) } : {})

/**
 * Any thrown error as an HTTP error; unexpected ones are logged, not leaked. A momentry error
 * answers with the status its class gives it. One about the request (4xx) says its reason:
 * that is what the client got wrong. One on the server's side (5xx) says only a public
 * message with what the client can do, and its reason goes to the log. Never the hint: it
 * names the next CLI command, which is no advice for an HTTP client.
 */
export function toHttpError(error: FastifyError | Error, { log, bodyLimit }: { log: CoreContext['log']; bodyLimit: number }): HttpError {
  if (error instanceof HttpError) return error
  const known = error instanceof MomentryError ? error : classifyPostgresError(error)
  if (known) {
    if (known.httpStatus < 500) return new HttpError(known.httpStatus, known.code, known.reason)
    log.error(`${known.code} in a request: ${known.reason}`)
    return new HttpError(known.httpStatus, known.code, PUBLIC_SERVER_MESSAGES[known.httpStatus] ?? UNEXPECTED, retryAfter(known.httpStatus))
  }
  const fe = error as FastifyError
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return payloadTooLarge(bodyLimit)
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return unsupportedMediaType()
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return notJson()
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return emptyBody()
  }
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) return new HttpError(fe.statusCode, 'BAD_REQUEST', fe.message)
  log.error(`unexpected error in a request: ${error.message}`)
  return new HttpError(500, 'INTERNAL', UNEXPECTED)
}
