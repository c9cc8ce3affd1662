import { BlockList, isIP } from 'node:net'

import { printable } from '../duration.js'
import { UsageError } from '../errors.js'

/** `::ffff:203.0.113.7` (how Node reports IPv4 on a dual-stack socket) → `203.0.113.7`. */
export function normaliseIp(ip: string): string {
  if (ip.charCodeAt(0) !== 58 /* ':' */) return ip
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  return m ? m[1]! : ip
}

export interface Network {
  /** Canonical text, `203.0.113.0/24` or `2001:db8::/32`; a single address gets /32 or /128. */
  cidr: string
  address: string
  prefix: number
  family: 'ipv4' | 'ipv6'
}

/**
 * Parse `IP` or `IP/prefix`, rejecting anything else with a usage error. Host bits are
 * not cleared here; PostgreSQL's `network()` does it when the row is stored.
 */
export function parseNetwork(input: string): Network {
  const [address = '', prefixText, extra] = input.trim().split('/')
  const version = isIP(address)
  const bad = () =>
    new UsageError(`"${printable(input)}" is not an IP address or CIDR range`, 'Write e.g. 203.0.113.7, 203.0.113.0/24 or 2001:db8::/32')
  if (!version || extra !== undefined) throw bad()
  const max = version === 4 ? 32 : 128
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) throw bad()
  const prefix = prefixText === undefined ? max : Number(prefixText)
  if (prefix > max) throw bad()
  const normal = normaliseIp(address)
  const family = isIP(normal) === 4 ? 'ipv4' : 'ipv6'
  const width = family === 'ipv4' ? 32 : 128
  return { cidr: `${normal}/${Math.min(prefix, width)}`, address: normal, prefix: Math.min(prefix, width), family }
}

/** An in-memory set of networks answering "is this address inside any?" with no I/O. */
export function buildBlockList(networks: Network[]): BlockList {
  const list = new BlockList()
  for (const n of networks) list.addSubnet(n.address, n.prefix, n.family)
  return list
}

export function ipFamily(ip: string): 'ipv4' | 'ipv6' | undefined {
  const v = isIP(ip)
  return v === 4 ? 'ipv4' : v === 6 ? 'ipv6' : undefined
}
