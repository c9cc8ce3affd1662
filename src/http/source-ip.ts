import type { TrustedProxies } from '../core/blacklist/ip.js'
import { buildBlockList, ipFamily, normaliseIp } from '../core/blacklist/ip.js'
import type { Logger } from '../core/log.js'

/**
 * Whose request it is: the client's address and, when a trusted proxy named that client, the
 * proxy's own (socket) address, which is refused first if it is itself blacklisted or locked out.
 */
export interface ClientAddress {
  ip: string
  via?: string
}

/** The client address for a request's socket address and the `ip` its body names, if any. */
export type ClientIpRule = (remoteAddress: string | undefined, claimed: string | undefined) => ClientAddress

/**
 * The client address of a request: the socket's, or the `ip` a caller put in the body when
 * that caller is a trusted proxy (`MOMENTRY_TRUSTED_PROXIES`, by default loopback only), with
 * the proxy's address beside it. Anyone else naming an IP is answered for their own address,
 * so a client cannot step around lockout or the blacklist by naming a fresh address on every
 * try; that is said once in the log.
 */
export function sourceIpRule(trusted: TrustedProxies, log: Logger): ClientIpRule {
  const list = trusted === 'any' ? undefined : buildBlockList(trusted)
  /**
   * Per socket address as the socket reports it: its normal spelling (as the answer for a
   * request naming nobody, made once) and whether it is trusted (few distinct callers; bounded anyway).
   */
  const memo = new Map<string, { own: ClientAddress; trusted: boolean }>()
  let said = false
  const socket = (remote: string) => {
    let s = memo.get(remote)
    if (s === undefined) {
      const ip = normaliseIp(remote)
      const family = ipFamily(ip)
      s = { own: Object.freeze({ ip }), trusted: list === undefined || (family !== undefined && list.check(ip, family)) }
      if (memo.size >= 10_000) memo.clear()
      memo.set(remote, s)
    }
    return s
  }
  return (remoteAddress = '', claimed) => {
    const s = socket(remoteAddress)
    if (claimed === undefined) return s.own
    if (s.trusted) return { ip: claimed, via: s.own.ip }
    if (!said) {
      said = true
      log.warn(`a request from ${s.own.ip} named a client IP in its body; it is not a trusted proxy (MOMENTRY_TRUSTED_PROXIES), so its own address is used`)
    }
    return s.own
  }
}
