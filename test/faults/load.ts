// Validation load for the fault tests: a bounded number of keep-alive connections on
// loopback, each sending one request at a time with a short pause between them, and a tally
// of every request made — what was answered, when, and what failed without an answer — so
// that a test can compare what serve said with what it wrote afterwards.
import { Pool } from 'undici'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export interface Answer {
  /** Which key was sent (the test's label for it). */
  label: string
  /** performance.now() when the request was sent, and when its answer (or error) came. */
  sentAt: number
  doneAt: number
  /** The HTTP status; 0 when no answer came (connection refused, reset, timeout). */
  status: number
  /** For a 200: the validation's outcome. */
  valid?: boolean
  /** The refusal's code (200, valid:false) or the error body's code (non-200). */
  code?: string
  /** For status 0: what went wrong (undici's error code). */
  error?: string
}

export interface LoadKey {
  label: string
  secret: string
}

/** Every request of a test, by whichever path it was sent. */
export class Tally {
  readonly answers: Answer[] = []

  /** One tally of every request of several (e.g. one per serve instance). */
  static merge(...tallies: Tally[]): Tally {
    const all = new Tally()
    for (const t of tallies) all.answers.push(...t.answers)
    return all
  }

  /** POST /v1/keys/verify for `key` on `pool` and record the outcome; never throws. */
  async verify(pool: Pool, key: LoadKey): Promise<Answer> {
    const sentAt = performance.now()
    let a: Answer
    try {
      const res = await pool.request({
        path: '/v1/keys/verify',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ key: key.secret }),
      })
      const json = (await res.body.json()) as { valid?: boolean; code?: string; error?: { code: string } }
      a = { label: key.label, sentAt, doneAt: performance.now(), status: res.statusCode, valid: json.valid, code: json.code ?? json.error?.code }
    } catch (error) {
      a = { label: key.label, sentAt, doneAt: performance.now(), status: 0, error: (error as { code?: string }).code ?? (error as Error).message }
    }
    this.answers.push(a)
    return a
  }

  /** Answers that are a decided validation (200) for `label`, valid or not. */
  decided(label: string, valid: boolean): number {
    return this.answers.filter((a) => a.label === label && a.status === 200 && a.valid === valid).length
  }

  /** A summary for failure messages and the log: counts by status and code. */
  summary(from = 0, to = Infinity): Record<string, number> {
    const out: Record<string, number> = {}
    for (const a of this.answers) {
      if (a.sentAt < from || a.sentAt > to) continue
      const k = a.status === 200 ? `200 ${a.valid ? 'valid' : a.code}` : a.status === 0 ? `no answer (${a.error})` : `${a.status} ${a.code}`
      out[k] = (out[k] ?? 0) + 1
    }
    return out
  }
}

/** A keep-alive connection pool to a serve instance, with timeouts that turn a hang into an error. */
export function connect(url: string, connections: number): Pool {
  return new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 10_000, bodyTimeout: 10_000, connectTimeout: 2_000 })
}

export interface Load {
  /** Stop sending and wait for the requests in flight; resolves once every worker is done. */
  stop(): Promise<void>
}

/**
 * `connections` workers, each on its own keep-alive connection, sending the keys in turn,
 * with `pauseMs` between requests: a bounded load (a few hundred to ~2,000 requests/s here)
 * that leaves the two cores room for serve, PostgreSQL and Redis.
 */
export function startLoad(tally: Tally, pool: Pool, keys: readonly LoadKey[], options: { connections?: number; pauseMs?: number } = {}): Load {
  const connections = options.connections ?? 4
  const pauseMs = options.pauseMs ?? 2
  let running = true
  const worker = async (w: number) => {
    for (let i = w; running; i++) {
      const a = await tally.verify(pool, keys[i % keys.length]!)
      // A refused connection (a server gone) answers at once: do not spin on it.
      await sleep(a.status === 0 ? 50 : pauseMs)
    }
  }
  const workers = Array.from({ length: connections }, (_, w) => worker(w))
  return {
    async stop() {
      running = false
      await Promise.all(workers)
    },
  }
}

/**
 * Poll `key` on its own connection, one request after another without pause, until it is
 * refused as REVOKED; the milliseconds from `committedAt` to the first refusal's answer
 * (Infinity past `withinMs`). Every request is in the tally, so the usage counts cover it.
 */
export async function refusedAfter(tally: Tally, pool: Pool, key: LoadKey, committedAt: number, withinMs = 5_000): Promise<number> {
  while (performance.now() - committedAt < withinMs) {
    const a = await tally.verify(pool, key)
    if (a.status === 200 && a.valid === false && a.code === 'REVOKED') return a.doneAt - committedAt
  }
  return Infinity
}
