import { FLUSH_ALL, notifyProcesses, PG_CHANNELS } from '../channels.js'
import type { CoreContext } from '../context.js'
import type { Disposer, MomentryEvent } from '../events.js'

/**
 * Side effect: keep this process and every other one in step with a change made here. A
 * key's revoke, rotate, disable or enable drops it from this process's cache at once, to be
 * read on its next use (other processes drop it and read its new state back when they hear
 * the change's own NOTIFY, sent by a trigger when it commits). A lockout — counted in Redis
 * or `ip_failures`, outside any transaction — is announced with a NOTIFY of its own, so every
 * server refuses the address from memory at once; a lockout lifted early (`lockout clear`) is
 * announced the same way, so every server forgets it at once.
 */
export function broadcastChanges(ctx: CoreContext): Disposer {
  const onEvent = async (event: MomentryEvent): Promise<void> => {
    switch (event.type) {
      case 'key.revoked':
      case 'key.rotated':
      case 'key.disabled':
      case 'key.enabled':
        ctx.validation.cache.invalidateKey(event.keyId)
        return
      case 'ip.locked_out':
        await notifyProcesses(ctx, PG_CHANNELS.lockout, JSON.stringify({ ip: event.ip, retryAfterSeconds: event.retryAfterSeconds }), `the lockout of ${event.ip} (they re-read lockouts within 30 s)`)
        return
      case 'ip.lockout_cleared':
        // This process forgets at once; the others when the NOTIFY arrives (one for all of them under --all).
        if (event.all) ctx.validation.forgetLockouts()
        for (const ip of event.ips) ctx.validation.forgetLockout(ip)
        if (event.all) await notifyProcesses(ctx, PG_CHANNELS.lockoutCleared, FLUSH_ALL, 'every lockout lifted')
        else for (const ip of event.ips) await notifyProcesses(ctx, PG_CHANNELS.lockoutCleared, ip, `the lifted lockout of ${ip}`)
        return
      default:
        return
    }
  }
  const off = ctx.bus.on('*', onEvent)
  return async () => off()
}
