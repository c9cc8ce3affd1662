import type { Sql } from '../db/connect.js'
import type { Logger } from '../log.js'
import type { Redis } from '../redis.js'
import type { InvalidCode } from '../validation/invalid-codes.js'

export interface UsageEvent {
  keyId: string
  ip?: string
  ok: boolean
  /** When, in epoch milliseconds. */
  atMs: number
  /** A refused validation's code: the failure is also counted by code (`recordFailure`). */
  code?: InvalidCode
}

/** A refused validation, with or without a key to attribute it to. */
export interface FailureEvent {
  code: InvalidCode
  /** The source IP as validation normalised it; none for a validation without one. */
  ip?: string
  keyId?: string
  /** When, in epoch milliseconds. */
  atMs: number
}

interface FailureBucket {
  minute: number
  code: InvalidCode
  /** '' without a source, FOLDED_SOURCE for the catch-all. */
  ip: string
  /** '' when no key is known. */
  keyId: string
  count: number
}

interface Bucket {
  keyId: string
  minute: number
  ok: number
  fail: number
  ips: Set<string>
  lastOkAt: number
}

export interface UsageRecorderDeps {
  sql: () => Sql
  /** An already-connected Redis, if any; the recorder never connects by itself. */
  redis: () => Redis | undefined
  prefix: string
  log: Logger
  /** Told after each batch reached PostgreSQL, with the keys it touched (anomaly detection listens). */
  flushed?: (keyIds: string[]) => void
}

const MINUTE = 60_000
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
const HOUR = 3_600_000
/** Redis counters live long enough for the detectors' windows (≤ 1 h) plus slack. */
const COUNTER_TTL_SECONDS = 2 * 3600
/** A bound on what waits in memory if PostgreSQL is away for long. */
const MAX_BUCKETS = 100_000
/**
 * Past this many distinct failure buckets waiting, a failure from a source without a bucket
 * yet is counted under FOLDED_SOURCE instead (its code, minute and key kept): an attack from
 * many addresses while PostgreSQL is away grows the buffer by the folded buckets only.
 */
export const MAX_FAILURE_BUCKETS = 20_000
/** Beyond this, even folded failures are dropped (said once), as usage is past MAX_BUCKETS. */
const HARD_FAILURE_BUCKETS = 2 * MAX_FAILURE_BUCKETS
/** The `ip` of failures whose source was folded away (see MAX_FAILURE_BUCKETS). */
export const FOLDED_SOURCE = '*'

/**
 * Usage recording off the hot path: `record()` only adds to an in-memory per-key,
 * per-minute bucket, and `recordFailure()` (refusals, with or without a key) to a
 * per-minute, per-code, per-source one; `flush()` writes both in one statement to
 * PostgreSQL (`key_usage_minute`, `validation_failure_minute` and `last_used_at`) and the
 * usage to Redis counters for real-time detection.
 * Long-running processes flush every second and on shutdown; the CLI flushes on exit.
 */
export class UsageRecorder {
  /** Buckets by minute, then by key id: no key string is built per recorded event. */
  private buckets = new Map<number, Map<string, Bucket>>()
  private size = 0
  private timer?: NodeJS.Timeout
  private flushing?: Promise<void>
  /** The buffer-full warning is said once per time the buffer fills. */
  private droppedSaid = false
  /** Failures by minute, code, source and key (one string key per bucket: failures are not the hot path). */
  private failures = new Map<string, FailureBucket>()
  private foldedSaid = false

  constructor(private readonly deps: UsageRecorderDeps) {}

  record(e: UsageEvent): void {
    const t = e.atMs
    const minute = t - (t % MINUTE)
    let perKey = this.buckets.get(minute)
    let b = perKey?.get(e.keyId)
    if (!b) {
      if (this.size >= MAX_BUCKETS) {
        if (!this.droppedSaid) this.deps.log.warn(`usage: ${MAX_BUCKETS} buckets are waiting (PostgreSQL away?); newer usage is dropped until they are written`)
        this.droppedSaid = true
        if (e.code) this.recordFailure({ code: e.code, ip: e.ip, keyId: e.keyId, atMs: t })
        return
      }
      b = { keyId: e.keyId, minute, ok: 0, fail: 0, ips: new Set(), lastOkAt: 0 }
      if (!perKey) this.buckets.set(minute, (perKey = new Map()))
      perKey.set(e.keyId, b)
      this.size++
    }
    if (e.ok) {
      b.ok++
      if (t > b.lastOkAt) b.lastOkAt = t
    } else {
      b.fail++
      if (e.code) this.recordFailure({ code: e.code, ip: e.ip, keyId: e.keyId, atMs: t })
    }
    if (e.ip && b.ips.size < 1000) b.ips.add(e.ip)
  }

  /**
   * Count a refused validation by minute, code, source IP and key (none for failures no key
   * can be named for), written by the next flush with the usage. Bounded: see
   * MAX_FAILURE_BUCKETS. A failure of a known key goes through `record({ ok: false, code })`,
   * which calls this too.
   */
  recordFailure(e: FailureEvent): void {
    const t = e.atMs
    this.addFailure({ minute: t - (t % MINUTE), code: e.code, ip: e.ip ?? '', keyId: e.keyId ?? '', count: 1 })
  }

  private addFailure(f: FailureBucket): void {
    let id = `${f.minute}|${f.code}|${f.ip}|${f.keyId}`
    let cur = this.failures.get(id)
    if (!cur && this.failures.size >= MAX_FAILURE_BUCKETS && f.ip !== FOLDED_SOURCE) {
      if (!this.foldedSaid) this.deps.log.warn(`usage: ${MAX_FAILURE_BUCKETS} failure buckets are waiting; failures from new sources are counted without their IP until they are written`)
      this.foldedSaid = true
      f = { ...f, ip: FOLDED_SOURCE }
      id = `${f.minute}|${f.code}|${f.ip}|${f.keyId}`
      cur = this.failures.get(id)
    }
    if (cur) {
      cur.count += f.count
      return
    }
    if (this.failures.size >= HARD_FAILURE_BUCKETS) return
    this.failures.set(id, { ...f })
  }

  /** Usage buckets waiting to be written. */
  get pending(): number {
    return this.size
  }

  /** Failure buckets (minute, code, source, key) waiting to be written. */
  get pendingFailures(): number {
    return this.failures.size
  }

  /** Write everything buffered so far. Concurrent calls share one write. */
  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => (this.flushing = undefined))
    return this.flushing
  }

  /** Flush every `intervalMs` until `stop()` (long-running processes; a one-shot run flushes once, at close). */
  start(intervalMs = 1000): void {
    this.timer ??= setInterval(() => void this.flush(), intervalMs)
    this.timer.unref()
  }

  /** Stop the periodic flush and write what is left. */
  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.flushing
    await this.flush()
  }

  private async write(): Promise<void> {
    if (this.size === 0 && this.failures.size === 0) return
    const batch = [...this.buckets.values()].flatMap((perKey) => [...perKey.values()])
    const failures = [...this.failures.values()]
    this.buckets = new Map()
    this.size = 0
    this.droppedSaid = false
    this.failures = new Map()
    this.foldedSaid = false
    try {
      await this.writePostgres(batch, failures)
    } catch (error) {
      this.deps.log.warn(`usage: could not write ${batch.length} buckets and ${failures.length} failure buckets to PostgreSQL, will retry: ${(error as Error).message}`)
      for (const b of batch) this.merge(b)
      for (const f of failures) this.addFailure(f)
      return
    }
    if (batch.length === 0) return
    try {
      await this.writeRedis(batch)
    } catch (error) {
      this.deps.log.debug(`usage: Redis counters skipped: ${(error as Error).message}`)
    }
    this.deps.flushed?.([...new Set(batch.map((b) => b.keyId))])
  }

  /** Put a bucket that could not be written back, adding to one recorded meanwhile. */
  private merge(b: Bucket): void {
    let perKey = this.buckets.get(b.minute)
    const cur = perKey?.get(b.keyId)
    if (!cur) {
      if (this.size >= MAX_BUCKETS) return
      if (!perKey) this.buckets.set(b.minute, (perKey = new Map()))
      perKey.set(b.keyId, b)
      this.size++
      return
    }
    cur.ok += b.ok
    cur.fail += b.fail
    cur.lastOkAt = Math.max(cur.lastOkAt, b.lastOkAt)
    for (const ip of b.ips) cur.ips.add(ip)
  }

  private async writePostgres(batch: Bucket[], failures: FailureBucket[]): Promise<void> {
    const sql = this.deps.sql()
    // One lock order for every writer: two processes upserting the same rows cannot deadlock.
    failures.sort((a, b) => a.minute - b.minute || cmp(a.code, b.code) || cmp(a.ip, b.ip) || cmp(a.keyId, b.keyId))
    const lastUsed = new Map<string, number>()
    for (const b of batch) if (b.lastOkAt > (lastUsed.get(b.keyId) ?? 0)) lastUsed.set(b.keyId, b.lastOkAt)
    // One statement, one round trip: the upserts and the last_used_at update are atomic together.
    const ids = [...lastUsed.keys()]
    const ats = [...lastUsed.values()].map((t) => new Date(t).toISOString())
    await sql`
      with upserted as (
        insert into key_usage_minute (key_id, minute, ok_count, fail_count)
        select * from unnest(${batch.map((b) => b.keyId)}::text[], ${batch.map((b) => new Date(b.minute).toISOString())}::timestamptz[],
                             ${batch.map((b) => b.ok)}::int[], ${batch.map((b) => b.fail)}::int[])
        on conflict (key_id, minute) do update
          set ok_count = key_usage_minute.ok_count + excluded.ok_count,
              fail_count = key_usage_minute.fail_count + excluded.fail_count
        returning 1
      ), failed as (
        insert into validation_failure_minute (minute, code, ip, key_id, count)
        select * from unnest(${failures.map((f) => new Date(f.minute).toISOString())}::timestamptz[], ${failures.map((f) => f.code)}::text[],
                             ${failures.map((f) => f.ip)}::text[], ${failures.map((f) => f.keyId)}::text[], ${failures.map((f) => f.count)}::int[])
        on conflict (minute, code, ip, key_id) do update set count = validation_failure_minute.count + excluded.count
        returning 1
      )
      update api_keys k set last_used_at = v.at
      from unnest(${ids}::text[], ${ats}::timestamptz[]) as v(id, at)
      where k.key_id = v.id and (k.last_used_at is null or k.last_used_at < v.at - interval '1 minute')`
  }

  private async writeRedis(batch: Bucket[]): Promise<void> {
    const redis = this.deps.redis()
    if (!redis?.isReady) return
    const p = this.deps.prefix
    const multi = redis.multi()
    for (const b of batch) {
      const counter = `${p}usage:${b.keyId}:${b.minute / MINUTE}`
      if (b.ok) multi.hIncrBy(counter, 'ok', b.ok)
      if (b.fail) multi.hIncrBy(counter, 'fail', b.fail)
      multi.expire(counter, COUNTER_TTL_SECONDS)
      if (b.ips.size) {
        const ips = `${p}ips:${b.keyId}:${Math.floor(b.minute / HOUR)}`
        multi.pfAdd(ips, [...b.ips])
        multi.expire(ips, COUNTER_TTL_SECONDS)
      }
    }
    await multi.exec()
  }
}
