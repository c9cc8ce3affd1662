// An open-loop load generator: requests offered at a fixed rate, evenly spaced, whatever the
// server does, each one's latency measured from the moment it was due to be sent (so a stall
// counts against every request it delays, as wrk2 does). autocannon's `overallRate` is not
// this: each connection sends back to back until it has made its share for the second, then
// waits for the next second, so "half the maximum rate" is half a second at the maximum rate
// and half a second idle, and the tail it reports is the tail of saturation.
//
// It runs in a process of its own, started for each run: in the bench's process, a major
// garbage collection of the bench's own heap (its keys, its database pool, autocannon's
// histograms) stalls the client, and every request due meanwhile is charged with it. Each run
// offers the rate for a second before it starts measuring, on the same connections and the
// same code: a client still in V8's interpreter is slow enough to build a queue of its own,
// and so is a server whose code is still cold.
import { spawn } from 'node:child_process'
import net from 'node:net'
import { fileURLToPath } from 'node:url'

const WARM_SECONDS = 1

/**
 * Offer `rate` POSTs of `body` per second to `url` for `seconds` (after a second's warm-up),
 * over `connections` keep-alive connections: { rps, p99, p999 (ms), errors }.
 */
export function loadAtRate(url, body, seconds, rate, connections = 50) {
  return new Promise((resolve, reject) => {
    const args = [fileURLToPath(import.meta.url), JSON.stringify({ url, body, seconds, rate, connections })]
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.once('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`open-loop load exited ${code}`))))
  })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { url, body, seconds, rate, connections } = JSON.parse(process.argv[2])
  offer(url, body, seconds, rate, connections).then(
    (r) => process.stdout.write(JSON.stringify(r)),
    (e) => {
      process.stderr.write(`${e.message}\n`)
      process.exitCode = 1
    },
  )
}

function offer(url, body, seconds, rate, connections) {
  const { hostname, port, pathname } = new URL(url)
  const request = Buffer.from(
    `POST ${pathname} HTTP/1.1\r\nhost: ${hostname}:${port}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  )
  const warm = Math.round(rate * WARM_SECONDS) // requests 0..warm-1 are not measured
  const total = warm + Math.round(rate * seconds)
  const interval = 1000 / rate
  const latencies = new Float64Array(total - warm)
  let measured = 0 // measured requests answered 2xx
  let settled = 0 // requests answered (whatever the status) or lost with their connection
  let next = 0 // the next request to send, in due order
  let t0 = 0
  let timer
  let immediate
  let deadline
  const idle = []

  return new Promise((resolve, reject) => {
    let over = false
    const fail = (e) => {
      over = true
      conns.forEach((o) => o.socket.destroy())
      reject(e)
    }
    const open = (c) => {
      const socket = (c.socket = net.connect(Number(port), hostname))
      c.buf = Buffer.alloc(0)
      c.busy = false
      socket.setNoDelay(true)
      socket.on('data', (chunk) => {
        c.buf = c.buf.length ? Buffer.concat([c.buf, chunk]) : chunk
        while (c.busy) {
          const head = c.buf.indexOf('\r\n\r\n')
          if (head < 0) return
          const headers = c.buf.subarray(0, head).toString('latin1')
          const length = /\r\ncontent-length:\s*(\d+)/i.exec(headers)?.[1]
          // Every server the bench measures says how long its answer is; one that does not
          // (a chunked answer) would be misread here, so it ends the run rather than skew it.
          if (length === undefined) return fail(new Error(`${url} answered without content-length`))
          const end = head + 4 + Number(length)
          if (c.buf.length < end) return
          c.buf = c.buf.subarray(end)
          if (!settle(c, /^HTTP\/1\.[01] 2/.test(headers))) return
          // An answer that closes its connection: the 'close' below opens another.
          if (/\r\nconnection:\s*close/i.test(headers)) return void socket.end()
          idle.push(c)
          dispatch()
        }
      })
      socket.on('error', (e) => {
        if (!t0) fail(new Error(`${url}: ${e.message}`)) // else its 'close' follows
      })
      socket.on('connect', () => {
        idle.push(c)
        if (t0) dispatch()
        else if (idle.length === conns.length) start()
      })
      // A connection the server ended (its keep-alive timeout, say) loses the request it
      // carried, which counts as an error; a new connection takes its place (once, before
      // the run starts: a server that drops every connection ends the run).
      socket.on('close', () => {
        if (over || c.socket !== socket) return
        const at = idle.indexOf(c)
        if (at >= 0) idle.splice(at, 1)
        if (!t0) {
          if (c.reopened) return fail(new Error(`${url} closed a connection before the run started, twice`))
          c.reopened = true
          return open(c)
        }
        if (c.busy && !settle(c, false)) return
        open(c)
      })
    }
    const conns = Array.from({ length: Math.max(1, Math.min(connections, total)) }, () => ({ socket: null, i: 0, busy: false, buf: null, reopened: false }))
    conns.forEach(open)

    const start = () => {
      t0 = performance.now()
      // Whatever is still unanswered two seconds after the last request was due is an error.
      deadline = setTimeout(finish, (total * interval) + 2000)
      tick()
    }
    const tick = () => {
      dispatch()
      if (next >= total) return
      // Node's timers are whole milliseconds: a request due sooner than that is waited for by
      // turning the event loop, or ten would leave together each millisecond, a burst.
      const wait = t0 + next * interval - performance.now()
      if (wait < 1) immediate = setImmediate(tick)
      else timer = setTimeout(tick, wait - 1)
    }
    const dispatch = () => {
      const due = Math.min(total, Math.floor((performance.now() - t0) / interval) + 1)
      // First in, first out: every connection stays in use, so none sits idle long enough
      // for the server's keep-alive timeout.
      while (next < due && idle.length) {
        const c = idle.shift()
        c.i = next++
        c.busy = true
        c.socket.write(request)
      }
    }
    /** Count the answer (or the loss) of `c`'s request; false once every request is settled. */
    const settle = (c, ok) => {
      c.busy = false
      if (ok && c.i >= warm) latencies[measured++] = performance.now() - (t0 + c.i * interval)
      if (++settled < total) return true
      finish()
      return false
    }
    const finish = () => {
      over = true
      clearTimeout(timer)
      clearImmediate(immediate)
      clearTimeout(deadline)
      for (const c of conns) c.socket.destroy()
      const elapsed = ((total - warm) * interval) / 1000 // the measured window, however late its last answer
      const sorted = latencies.subarray(0, measured).sort()
      const at = (p) => Math.round(sorted[Math.min(measured - 1, Math.floor(measured * p))] * 100) / 100
      resolve({ rps: Math.round(measured / elapsed), p99: at(0.99), p999: at(0.999), errors: total - warm - measured })
    }
  })
}
