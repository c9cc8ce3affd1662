import type { CoreContext } from '../context.js'
import { UsageError } from '../errors.js'
import type { Disposer } from '../events.js'
import { openCheckpoint, parseVkey, signCheckpoint, signingKey, verifierOf } from './checkpoint.js'
import { appendAudit, chainHead, instanceId, insertCheckpoint, lastCheckpoint } from './repo.js'
import type { VerifyReport } from './verify-chain.js'
import { verifyChain } from './verify-chain.js'

export interface CheckpointResult {
  origin: string
  seq: number
  hash: string
  at: string
  /** The signed note to keep elsewhere. */
  note: string
  /** The verifier key that checks the note (`audit verify --vkey`). */
  vkey: string
}

const originOf = (id: string) => `momentry-audit/${id}`

/** Sign the chain head now, record the checkpoint and announce it (`audit.checkpoint`). */
export async function writeCheckpoint(ctx: CoreContext): Promise<CheckpointResult> {
  const key = (await signingKey(ctx.secrets, ctx.log, true))!
  const at = ctx.clock.now()
  const result = await ctx.sql.begin(async (tx) => {
    const [head, id] = [await chainHead(tx), await instanceId(tx)]
    const checkpoint = { origin: originOf(id), seq: Number(head.seq), hash: head.hash, time: at }
    const note = signCheckpoint(checkpoint, key)
    await insertCheckpoint(tx, { seq: head.seq, hash: head.hash, note, at })
    return { origin: checkpoint.origin, seq: checkpoint.seq, hash: head.hash.toString('base64'), at: at.toISOString(), note, vkey: key.vkey }
  })
  ctx.bus.emit({ type: 'audit.checkpoint', origin: result.origin, seq: result.seq, hash: result.hash, note: result.note, vkey: result.vkey, at: result.at })
  return result
}

/**
 * Walk the chain and check the given checkpoint notes (signature first: with `vkey`, else
 * with this installation's signing key). Unreadable or forged notes are usage errors (exit 2).
 */
export async function verifyAudit(ctx: CoreContext, input: { checkpoints: Array<{ source: string; note: string }>; vkey?: string }): Promise<VerifyReport & { origin: string }> {
  const origin = originOf(await instanceId(ctx.sql))
  let verifier = input.vkey ? parseVkey(input.vkey) : undefined
  if (!verifier && input.checkpoints.length) {
    const key = await signingKey(ctx.secrets, ctx.log, false)
    if (!key) {
      throw new UsageError('no checkpoint signing key is stored here to check the notes with', 'Give the verifier key with --vkey (printed by `momentry audit checkpoint --json`)')
    }
    verifier = verifierOf(key)
  }
  const checkpoints = input.checkpoints.map((c) => ({ source: c.source, checkpoint: openCheckpoint(c.note, c.source, verifier!) }))
  return { origin, ...(await verifyChain(ctx, checkpoints, origin)) }
}

/** An epoch row after a legitimate restore: checkpoints older than it are reported as superseded, not as tampering. */
export async function resealAudit(ctx: CoreContext, reason: string): Promise<{ seq: number; at: string; previousHead: number }> {
  const at = ctx.clock.now()
  return ctx.sql.begin(async (tx) => {
    const head = await chainHead(tx)
    const last = await lastCheckpoint(tx)
    const seq = await appendAudit(ctx, tx, {
      keyId: null,
      action: 'audit.reseal',
      actor: ctx.actor,
      target: 'audit',
      at,
      details: { reason, previousHead: Number(head.seq), lastCheckpoint: last ? Number(last.seq) : null },
    })
    return { seq: Number(seq), at: at.toISOString(), previousHead: Number(head.seq) }
  })
}

/** A new current audit key; the change is itself an audit row (encrypted under the new key). */
export async function rotateAuditKey(ctx: CoreContext): Promise<{ previous: string; current: string; store: string; seq: number }> {
  const rotated = await ctx.audit.rotate()
  const seq = await ctx.sql.begin((tx) =>
    appendAudit(ctx, tx, { keyId: null, action: 'audit.rotate_key', actor: ctx.actor, target: rotated.current, at: ctx.clock.now(), details: { previous: rotated.previous, current: rotated.current } }),
  )
  return { ...rotated, seq: Number(seq) }
}

/**
 * Service of `serve`: sign a checkpoint every MOMENTRY_AUDIT_CHECKPOINT_EVERY when the chain
 * moved since the last one (and one at start when there is none yet).
 */
export function checkpointPeriodically(ctx: CoreContext): Disposer {
  let running: Promise<unknown> | undefined
  const tick = () =>
    (running ??= (async () => {
      const [head, last] = await Promise.all([chainHead(ctx.sql), lastCheckpoint(ctx.sql)])
      if (last && last.seq === head.seq) return
      await writeCheckpoint(ctx)
    })()
      .catch((e: Error) => ctx.log.warn(`audit checkpoint: ${e.message}`))
      .finally(() => (running = undefined)))
  const timer = setInterval(() => void tick(), Math.min(ctx.config.auditCheckpointSeconds * 1000, 2 ** 31 - 1))
  timer.unref()
  void tick()
  return async () => {
    clearInterval(timer)
    await running
  }
}
