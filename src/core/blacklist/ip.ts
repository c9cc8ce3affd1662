import { BlockList, isIP } from 'node:net'

import { printable } from '../printable.js'
import { UsageError } from '../errors.js'

/**
 * One spelling per address, so that lockout counters, usage and blacklist checks cannot be
 * split by writing an address differently: IPv4 as is; IPv6 in lower case with zeros
 * compressed (`2001:DB8:0::01` → `2001:db8::1`); IPv4-mapped IPv6 (`::ffff:203.0.113.7`, how
 * Node reports IPv4 on a dual-stack socket, or `::ffff:cb00:7107`) as the IPv4 address.
 * Anything that is not an IP address is returned unchanged.
 */
export function normaliseIp(ip: string): string {
  if (ip.indexOf(':') === -1) return ip
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  if (dotted && isIP(dotted[1]!) === 4) return dotted[1]!
  if (isIP(ip) !== 6) return ip
  let canonical: string
  try {
    canonical = new URL(`http://[${ip}]/`).hostname.slice(1, -1) // WHATWG's IPv6 serialiser: RFC 5952 form
  } catch {
    return ip.toLowerCase() // a zone id (fe80::1%eth0) is not a URL host
  }
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical)
  if (!mapped) return canonical
  const hi = parseInt(mapped[1]!, 16)
  const lo = parseInt(mapped[2]!, 16)
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`
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
  if (isIP(normal) === 4) {
    if (version === 4) return { cidr: `${normal}/${prefix}`, address: normal, prefix, family: 'ipv4' }
    // An IPv4-mapped IPv6 range: its last 32 bits are the IPv4 range.
    if (prefix < 96) {
      throw new UsageError(`"${printable(input)}" reaches outside the IPv4-mapped range ::ffff:0:0/96`, 'Write the IPv4 range itself, e.g. 203.0.113.0/24')
    }
    return { cidr: `${normal}/${prefix - 96}`, address: normal, prefix: prefix - 96, family: 'ipv4' }
  }
  return { cidr: `${normal}/${prefix}`, address: normal, prefix, family: 'ipv6' }
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

const v4 = (address: string, prefix: number): Network => Object.freeze({ cidr: `${address}/${prefix}`, address, prefix, family: 'ipv4' })
const v6 = (address: string, prefix: number): Network => Object.freeze({ cidr: `${address}/${prefix}`, address, prefix, family: 'ipv6' })
/**
 * The named sets, written out as parseNetwork would return them (a test holds them to it):
 * every command loads the config, and parsing `::1` compiled Node's IPv6 pattern, a few
 * milliseconds of each start.
 */
export const LOOPBACK_NETWORKS: readonly Network[] = [v4('127.0.0.0', 8), v6('::1', 128)]
/** Addresses of this host and of private networks (the `private` keyword, asked for explicitly). */
export const PRIVATE_NETWORKS: readonly Network[] = [
  ...LOOPBACK_NETWORKS,
  v4('10.0.0.0', 8),
  v4('172.16.0.0', 12),
  v4('192.168.0.0', 16),
  v4('169.254.0.0', 16),
  v6('fc00::', 7),
  v6('fe80::', 10),
]

/** Which callers may name the client's IP in a request body: everyone, nobody, or these networks. */
export type TrustedProxies = 'any' | Network[]

/**
 * `MOMENTRY_TRUSTED_PROXIES`: a comma-separated list of IPs and CIDR ranges, where `loopback`
 * (the default) stands for 127.0.0.0/8 and ::1, and `private` for loopback and the private
 * ranges; or `any`, or `none`. Throws a UsageError naming the entry that is neither.
 */
export function parseTrustedProxies(text: string): TrustedProxies {
  const entries = text.split(',').map((e) => e.trim()).filter(Boolean)
  if (entries.length === 1 && entries[0] === 'any') return 'any'
  if (entries.length === 1 && entries[0] === 'none') return []
  return entries.flatMap((e) => (e === 'private' ? PRIVATE_NETWORKS : e === 'loopback' ? LOOPBACK_NETWORKS : [parseNetwork(e)]))
}

/**
 * What failed attempts from `ip` (normalised, see `normaliseIp`) are counted against: an IPv4
 * address itself; an IPv6 address's network of `ipv6Prefix` bits (`2001:db8:1:2::/64`), since
 * one host is routinely handed a whole /64 and could otherwise try from 2^64 fresh addresses.
 * With a prefix of 128, or for anything that is not an IPv6 address, `ip` itself.
 */
export function failureKey(ip: string, ipv6Prefix: number): string {
  if (ip.indexOf(':') === -1 || ipv6Prefix >= 128 || isIP(ip) !== 6) return ip
  const groups = ipv6Groups(ip)
  if (!groups) return ip
  for (let i = 0; i < 8; i++) {
    const keep = Math.max(0, Math.min(16, ipv6Prefix - i * 16))
    groups[i] = keep === 0 ? 0 : groups[i]! & ((0xffff << (16 - keep)) & 0xffff)
  }
  return `${normaliseIp(groups.map((g) => g.toString(16)).join(':'))}/${ipv6Prefix}`
}

/** The eight 16-bit groups of an IPv6 address (a trailing dotted IPv4 part read as two). */
function ipv6Groups(ip: string): number[] | undefined {
  let text = ip.split('%')[0]!
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = '', tail, extra] = text.split('::')
  if (extra !== undefined) return undefined
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)))
  const left = parse(head)
  const right = tail === undefined ? [] : parse(tail)
  const groups = tail === undefined ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right]
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined
}
