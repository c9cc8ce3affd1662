import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http'
import { Server as NetServer } from 'node:net'
import type { Socket } from 'node:net'

import { HttpError, errorResponse } from './errors.js'

/**
 * How long a keep-alive connection may stay without a request during the drain before it is
 * closed. A client in a loop, or a pool under load, sends its next request within this (and
 * gets it answered, with `connection: close`); closing at once would race that request,
 * which then meets a reset. A client idle for longer is where it would be at the keep-alive
 * timeout (5 s) any day; and each stop of a server with connected clients waits this long.
 */
export const DRAIN_IDLE_GRACE_MS = 500
const DRAIN_TICK_MS = 25

interface Connection {
  socket: Socket
  /** When the last answer ended (or the drain started). */
  idleSince: number
  /** Bytes read by then: more since means a next request has started to arrive. */
  bytesAtIdle: number
}

/**
 * The answer a connection owes now, if any: Node's http server gives each request's response
 * the socket from the request's arrival until that answer finished (`_httpMessage`; a
 * pipelined request's waits in line and gets it then). A long-standing property that graceful
 * shutdown libraries read too; asking it costs nothing until the drain.
 */
const owed = (socket: Socket): ServerResponse | null | undefined => (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage

/**
 * Connections whose next request has begun to arrive, its headers not yet complete (and, to
 * Node, connections that have sent nothing yet). Read from the server's own list of
 * connections, the one `closeIdleConnections` asks; empty where a Node lacks it (then such a
 * request counts as idle from the drain's start, like a silent connection).
 */
function arriving(server: Server): Set<Socket> {
  const list = Object.getOwnPropertySymbols(server).find((s) => s.description === 'http.server.connections')
  const connections = list && (server as unknown as Record<symbol, { active?: () => Array<{ socket?: Socket }> } | undefined>)[list]
  if (typeof connections?.active !== 'function') return new Set()
  return new Set(connections.active().flatMap((parser) => (parser.socket ? [parser.socket] : [])))
}

export interface DrainResult {
  /** Connections closed with a request still in flight (the drain timeout, or `force()`). */
  forced: number
}

export interface ConnectionDrain {
  /**
   * Stop accepting connections, answer every request in flight and every request that still
   * arrives on an open connection (with `connection: close`, so each connection ends after its
   * answer), close connections idle for DRAIN_IDLE_GRACE_MS, and after `timeoutMs` close
   * whatever is left. Resolves once no connection is open.
   */
  drain(timeoutMs: number): Promise<DrainResult>
  /** End the drain now: close every connection left, answered or not. */
  force(): void
}

/** What a request cut off by the drain timeout is told, when its answer had not started. */
const cutOff = () => errorResponse(new HttpError(503, 'SHUTTING_DOWN', 'the server is shutting down; retry the request'))

/**
 * Track the connections of a Node HTTP server for a graceful drain. Node's own
 * `server.close()` (and fastify's close, which calls it) drops every idle keep-alive
 * connection at once — including those whose client has just sent the next request, which
 * is then reset — and keeps answering busy ones with `keep-alive`. This answers instead.
 */
export function trackConnections(server: Server, now: () => number = () => performance.now()): ConnectionDrain {
  const connections = new Map<Socket, Connection>()
  let draining = false
  let forceNow: (() => void) | undefined

  server.on('connection', (socket: Socket) => {
    connections.set(socket, { socket, idleSince: now(), bytesAtIdle: 0 })
    socket.once('close', () => connections.delete(socket))
  })
  // Nothing is done per request until the drain starts (this is the hot path: tracking every
  // request with a listener cost about a tenth of serve's CPU per validation). From then on,
  // each answer that ends marks its connection idle, and the next answer owed on it (a
  // pipelined request waiting in line) is watched in turn.
  const watched = new WeakSet<ServerResponse>()
  const watch = (res: ServerResponse, c: Connection) => {
    if (watched.has(res)) return
    watched.add(res)
    res.once('close', () => {
      c.idleSince = now()
      c.bytesAtIdle = c.socket.bytesRead
      const next = owed(c.socket)
      if (next) watch(next, c)
    })
  }
  // Tracked before the server's own listeners run, so the header is set before any handler
  // answers: one listener that calls them, since with two every emit would copy the list.
  const handlers = server.listeners('request') as RequestListener[]
  server.removeAllListeners('request')
  server.on('request', function (this: Server, req: IncomingMessage, res: ServerResponse) {
    if (draining) {
      res.setHeader('connection', 'close')
      const c = connections.get(req.socket)
      if (c) watch(res, c)
    }
    for (const handler of handlers) handler.call(this, req, res)
  })

  const closeIdle = () => {
    const t = now()
    for (const [socket, c] of connections) {
      if (!owed(socket) && t - c.idleSince >= DRAIN_IDLE_GRACE_MS && socket.bytesRead === c.bytesAtIdle) socket.destroy()
    }
  }

  /** Close every connection left: a request whose answer has not started is told 503 first. */
  const closeAll = (): number => {
    let forced = 0
    for (const socket of connections.keys()) {
      const first = owed(socket)
      if (first) forced++
      if (first && !first.headersSent && socket.writable) {
        const { status, headers, body } = cutOff()
        first.writeHead(status, { ...headers, connection: 'close' })
        first.end(body)
        // Whatever the handler still does with it goes nowhere. Ended rather than destroyed, so
        // that the answer is read before the close (a reset would discard it); destroyed soon
        // all the same if the client does not close its side.
        socket.end()
        setTimeout(() => socket.destroy(), DRAIN_IDLE_GRACE_MS).unref()
      } else socket.destroy()
    }
    return forced
  }

  return {
    drain(timeoutMs) {
      draining = true
      // Idle connections get their grace from now; busy ones from their answer's end. One
      // whose request is half here is not idle: no byte count can match until it is answered.
      const started = now()
      const halfHere = arriving(server)
      for (const c of connections.values()) {
        c.idleSince = started
        c.bytesAtIdle = halfHere.has(c.socket) && c.socket.bytesRead > 0 ? -1 : c.socket.bytesRead
        const res = owed(c.socket)
        if (res) watch(res, c)
      }
      // The listening socket only: http.Server#close would also drop the idle connections.
      NetServer.prototype.close.call(server)
      return new Promise<DrainResult>((resolve) => {
        let done = false
        const finish = () => {
          if (done) return
          done = true
          clearInterval(tick)
          clearTimeout(deadline)
          resolve({ forced: closeAll() })
        }
        forceNow = finish
        const tick = setInterval(() => {
          closeIdle()
          if (connections.size === 0) finish()
        }, DRAIN_TICK_MS)
        const deadline = setTimeout(finish, timeoutMs)
        if (connections.size === 0) finish()
      })
    },
    force() {
      forceNow?.()
    },
  }
}
