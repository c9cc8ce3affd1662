import type { z } from 'zod'

import { ExternalServiceError } from '../errors.js'

/** Which service a call goes to, for messages: "Gitea at http://… is unreachable". */
export interface ServiceTarget {
  /** Gitea | n8n */
  label: string
  /** Base URL without a trailing slash. */
  url: string
  timeoutMs: number
  /** What to run when the credentials are refused, e.g. `momentry auth login gitea`. */
  loginHint: string
}

export interface ServiceResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  /** The body as text (bodies of these APIs are small; capped at 4 MiB). */
  text: string
}

const MAX_BODY = 4 * 1024 * 1024

const TLS_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_NOT_YET_VALID',
  'EPROTO',
  'ERR_SSL_WRONG_VERSION_NUMBER',
])

/** A network-level failure (no HTTP answer) as one line naming what to check. */
export function networkError(target: ServiceTarget, error: unknown): ExternalServiceError {
  const e = error as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException }
  const code = e?.code ?? e?.cause?.code ?? ''
  const where = `${target.label} at ${target.url}`
  const fixUrl = `Check ${target.label === 'Gitea' ? 'GITEA_URL' : 'N8N_URL'} (or the URL given to \`${target.loginHint}\`)`
  if (code === 'ECONNREFUSED') return new ExternalServiceError(`${where} refused the connection`, { code: 'SERVICE_UNREACHABLE', hint: `Is ${target.label} running? ${fixUrl}`, cause: error })
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new ExternalServiceError(`${where}: the host name does not resolve (${code})`, { code: 'SERVICE_UNREACHABLE', hint: fixUrl, cause: error })
  if (code.startsWith('UND_ERR_') && /TIMEOUT/.test(code)) {
    return new ExternalServiceError(`${where} did not answer within ${target.timeoutMs / 1000} s`, {
      code: 'SERVICE_TIMEOUT',
      hint: `Check that ${target.label} is healthy, or raise MOMENTRY_HTTP_TIMEOUT_SECONDS`,
      cause: error,
    })
  }
  if (TLS_CODES.has(code) || /certificate|SSL|TLS/i.test(e?.message ?? '')) {
    return new ExternalServiceError(`TLS to ${where} failed (${code || 'handshake error'})`, {
      code: 'SERVICE_TLS_ERROR',
      hint: 'Fix the server certificate, or trust its CA with NODE_EXTRA_CA_CERTS=/path/ca.pem',
      cause: error,
    })
  }
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return new ExternalServiceError(`${where} closed the connection`, { code: 'SERVICE_UNREACHABLE', hint: `Retry; check that ${fixUrl.slice(6)} points at ${target.label}`, cause: error })
  return new ExternalServiceError(`${where} could not be reached (${code || (e?.message ?? 'network error').split('\n')[0]})`, { code: 'SERVICE_UNREACHABLE', hint: fixUrl, cause: error })
}

/**
 * One HTTP call to Gitea or n8n with connect/headers/body timeouts. Any HTTP status is
 * returned; only the network failing throws (as an ExternalServiceError).
 */
export async function callService(
  target: ServiceTarget,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  options: { headers?: Record<string, string>; json?: unknown } = {},
): Promise<ServiceResponse> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers }
  if (options.json !== undefined) headers['content-type'] = 'application/json'
  // An agent per call: the connect timeout lives on the agent, and closing it leaves no
  // keep-alive socket holding a CLI process open.
  // Loaded on first use: commands that never call Gitea or n8n do not pay for undici.
  const { Agent, request } = await import('undici')
  const agent = new Agent({ connect: { timeout: target.timeoutMs }, headersTimeout: target.timeoutMs, bodyTimeout: target.timeoutMs })
  try {
    const res = await request(`${target.url}${path}`, {
      method,
      headers,
      body: options.json === undefined ? undefined : JSON.stringify(options.json),
      headersTimeout: target.timeoutMs,
      bodyTimeout: target.timeoutMs,
      signal: AbortSignal.timeout(target.timeoutMs * 2),
      dispatcher: agent,
    })
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size > MAX_BODY) {
        res.body.destroy()
        throw new ExternalServiceError(`${target.label} at ${target.url} sent an answer larger than 4 MiB to ${method} ${path.split('?')[0]}`, {
          code: 'SERVICE_BAD_RESPONSE',
          status: res.statusCode,
          hint: `Check that the URL points at ${target.label}`,
        })
      }
      chunks.push(chunk)
    }
    return { status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }
  } catch (error) {
    if (error instanceof ExternalServiceError) throw error
    if ((error as Error)?.name === 'TimeoutError' || (error as Error)?.name === 'AbortError') {
      throw networkError(target, Object.assign(new Error('timeout'), { code: 'UND_ERR_HEADERS_TIMEOUT' }))
    }
    throw networkError(target, error)
  } finally {
    agent.close().catch(() => {})
  }
}

/** The `message` of a JSON error body, if there is one (both services use that field). */
export function serviceMessage(res: ServiceResponse): string | undefined {
  try {
    const body = JSON.parse(res.text) as { message?: unknown; path?: unknown }
    if (typeof body?.message === 'string') {
      // n8n's DTO failures are a bare zod issue: {"code":"invalid_type","path":["expiresAt"],"message":"Required"}
      const path = Array.isArray(body.path) && body.path.length > 0 ? `${body.path.join('.')}: ` : ''
      return `${path}${body.message.split('\n')[0]!}`.replace(/[\r\n]+/g, ' ').slice(0, 200)
    }
  } catch {
    // not JSON
  }
  return undefined
}

/**
 * Parse a success body with its zod schema. A non-JSON body or an unexpected shape is one
 * clear line (status kept), never a crash deep in the caller.
 */
export function parseBody<S extends z.ZodType>(target: ServiceTarget, what: string, res: ServiceResponse, schema: S): z.output<S> {
  let body: unknown
  try {
    body = JSON.parse(res.text)
  } catch {
    const type = String(res.headers['content-type'] ?? 'no content type').split(';')[0]
    throw new ExternalServiceError(`${target.label} at ${target.url} answered ${what} with ${res.status} and a body that is not JSON (${type})`, {
      code: 'SERVICE_BAD_RESPONSE',
      status: res.status,
      hint: `Check that the URL points at ${target.label} itself, not a proxy or login page`,
    })
  }
  const parsed = schema.safeParse(body)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    throw new ExternalServiceError(
      `${target.label} at ${target.url} answered ${what} in an unexpected shape (${issue.path.map(String).join('.') || 'body'}: ${issue.message})`,
      { code: 'SERVICE_BAD_RESPONSE', status: res.status, hint: `Check the ${target.label} version against the README's requirements` },
    )
  }
  return parsed.data
}

/** The generic mapping for statuses a caller has no special meaning for. */
export function unexpectedStatus(target: ServiceTarget, what: string, res: ServiceResponse): ExternalServiceError {
  const detail = serviceMessage(res)
  const said = detail ? `: ${detail}` : ''
  if (res.status >= 500) {
    return new ExternalServiceError(`${target.label} at ${target.url} failed ${what} with ${res.status}${said}`, {
      code: 'SERVICE_ERROR',
      status: res.status,
      hint: `Retry later; the ${target.label} server log says why`,
    })
  }
  if (res.status === 401) {
    return new ExternalServiceError(`${target.label} refused the stored credentials (401)${said}`, {
      code: 'SERVICE_AUTH_FAILED',
      status: 401,
      hint: `Run \`${target.loginHint}\` to store the right ones`,
    })
  }
  if (res.status === 403) {
    return new ExternalServiceError(`${target.label} refused ${what} (403)${said}`, {
      code: 'SERVICE_FORBIDDEN',
      status: 403,
      hint: `Log in as an account allowed to do this (\`${target.loginHint}\`)`,
    })
  }
  return new ExternalServiceError(`${target.label} refused ${what} (${res.status})${said}`, {
    code: 'SERVICE_ERROR',
    status: res.status,
    hint: `Check the request against the ${target.label} documentation`,
  })
}
