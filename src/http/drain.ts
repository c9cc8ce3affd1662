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
  /** Requests read and not yet answered (more than one only when pipelined). */
  inFlight: Set<ServerResponse>
  /** When the last answer ended (or the connection opened). */
  idleSince: number
  /** Bytes read by then: more since means a next request has started to arrive. */
  bytesAtIdle: number
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

/** On a tracked response: the connection it is answered on. */
const CONNECTION = Symbol('connection')
type TrackedResponse = ServerResponse & { [CONNECTION]?: Connection }

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
    connections.set(socket, { socket, inFlight: new Set(), idleSince: now(), bytesAtIdle: 0 })
    socket.once('close', () => connections.delete(socket))
  })
  // Every request is tracked, so this is on the hot path: one listener function for all the
  // answers (the connection rides on the response), rather than a closure and a once-wrapper each.
  function answered(this: TrackedResponse): void {
    const c = this[CONNECTION]!
    c.inFlight.delete(this)
    c.idleSince = now()
    c.bytesAtIdle = c.socket.bytesRead
  }
  const track = (req: IncomingMessage, res: TrackedResponse) => {
    if (draining) res.setHeader('connection', 'close')
    const c = connections.get(req.socket)
    if (!c) return
    c.inFlight.add(res)
    res[CONNECTION] = c
    res.on('close', answered)
  }
  // Tracked before the server's own listeners run, so the header is set before any handler
  // answers: one listener that calls them, since with two every emit would copy the list.
  const handlers = server.listeners('request') as RequestListener[]
  server.removeAllListeners('request')
  server.on('request', function (this: Server, req: IncomingMessage, res: ServerResponse) {
    track(req, res)
    for (const handler of handlers) handler.call(this, req, res)
  })

  const closeIdle = () => {
    const t = now()
    for (const [socket, c] of connections) {
      if (c.inFlight.size === 0 && t - c.idleSince >= DRAIN_IDLE_GRACE_MS && socket.bytesRead === c.bytesAtIdle) socket.destroy()
    }
  }

  /** Close every connection left: a request whose answer has not started is told 503 first. */
  const closeAll = (): number => {
    let forced = 0
    for (const [socket, c] of connections) {
      if (c.inFlight.size > 0) forced++
      const [first] = c.inFlight
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
