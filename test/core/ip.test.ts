import { isIP } from 'node:net'

import { expect } from 'chai'
import fc from 'fast-check'

import { LOOPBACK_NETWORKS, PRIVATE_NETWORKS, buildBlockList, failureKey, normaliseIp, parseNetwork } from '../../src/core/blacklist/ip.js'
import { UsageError } from '../../src/core/errors.js'

/** The eight 16-bit groups of an IPv6 address, by hand (no shared code with the subject). */
function groups(ip: string): number[] {
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined]
  const part = (s: string | undefined) => (s ? s.split(':') : [])
  const h = part(head)
  const t = part(tail)
  const words = (xs: string[]) => xs.flatMap((x) => (x.includes('.') ? ((b) => [(b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!])(x.split('.').map(Number)) : [parseInt(x, 16)]))
  const hw = words(h)
  const tw = words(t)
  return tail === undefined ? hw : [...hw, ...Array(8 - hw.length - tw.length).fill(0), ...tw]
}

/** Other ways to write the same address: upper case, every group padded to four digits, fully expanded. */
function spellings(ip: string): string[] {
  const g = groups(ip)
  return [ip.toUpperCase(), g.map((x) => x.toString(16).padStart(4, '0')).join(':'), g.map((x) => x.toString(16).toUpperCase()).join(':')]
}

describe('IP addresses and networks (untrusted input)', () => {
  it('given the named sets of MOMENTRY_TRUSTED_PROXIES (written out, not parsed), then each network is what parseNetwork makes of its CIDR', () => {
    for (const n of [...LOOPBACK_NETWORKS, ...PRIVATE_NETWORKS]) expect(n, n.cidr).to.deep.equal(parseNetwork(n.cidr))
    expect(PRIVATE_NETWORKS.map((n) => n.cidr)).to.include.members(LOOPBACK_NETWORKS.map((n) => n.cidr))
  })

  it('given any IPv6 address, when written differently, then every spelling normalises to one lower-case, valid form', () => {
    fc.assert(
      fc.property(fc.ipV6(), (ip) => {
        const n = normaliseIp(ip)
        expect(isIP(n), n).to.be.oneOf([4, 6])
        expect(normaliseIp(n)).to.equal(n)
        for (const other of spellings(ip)) expect(normaliseIp(other), other).to.equal(n)
        if (isIP(n) === 6) expect(n).to.equal(n.toLowerCase())
      }),
    )
  })

  it('given any IPv4 address, then it is kept as is, and its IPv4-mapped IPv6 forms (dotted or hex) become it', () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        expect(normaliseIp(ip)).to.equal(ip)
        const [a, b, c, d] = ip.split('.').map(Number) as [number, number, number, number]
        const hex = `::ffff:${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
        for (const mapped of [`::ffff:${ip}`, `::FFFF:${ip}`, hex, `0:0:0:0:0:ffff:${ip}`]) expect(normaliseIp(mapped), mapped).to.equal(ip)
      }),
    )
  })

  it('given anything that is not an address, then normaliseIp returns it unchanged and never throws', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        if (isIP(s)) return
        expect(normaliseIp(s)).to.equal(s)
      }),
    )
  })

  it('given an IPv4 or IPv6 network, then parseNetwork keeps its prefix; an IPv4-mapped range becomes the IPv4 range', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), (ip, prefix) => {
        expect(parseNetwork(`${ip}/${prefix}`)).to.deep.equal({ cidr: `${ip}/${prefix}`, address: ip, prefix, family: 'ipv4' })
        expect(parseNetwork(`::ffff:${ip}/${prefix + 96}`)).to.deep.equal({ cidr: `${ip}/${prefix}`, address: ip, prefix, family: 'ipv4' })
      }),
    )
    expect(parseNetwork('::ffff:198.51.100.0/120').cidr).to.equal('198.51.100.0/24')
    expect(parseNetwork('2001:DB8::/32')).to.deep.equal({ cidr: '2001:db8::/32', address: '2001:db8::', prefix: 32, family: 'ipv6' })
    expect(parseNetwork('203.0.113.7').cidr).to.equal('203.0.113.7/32')
    expect(() => parseNetwork('::ffff:198.51.100.0/64')).to.throw(UsageError, /IPv4-mapped/)
  })

  it('given arbitrary text, then parseNetwork either parses it or throws a usage error, nothing else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.tuple(fc.oneof(fc.ipV4(), fc.ipV6(), fc.string()), fc.string()).map(([a, b]) => `${a}/${b}`)), (s) => {
        try {
          const n = parseNetwork(s)
          expect(isIP(n.address)).to.be.oneOf([4, 6])
          expect(n.prefix).to.be.within(0, n.family === 'ipv4' ? 32 : 128)
        } catch (error) {
          expect(error).to.be.instanceOf(UsageError)
        }
      }),
    )
  })

  describe('failureKey (what lockout counts against)', () => {
    it('given IPv4, IPv6 and the prefix, then IPv4 as is, IPv6 as its network in RFC 5952 form, /128 as the address', () => {
      expect(failureKey('203.0.113.7', 64)).to.equal('203.0.113.7')
      expect(failureKey('2001:db8:1:2:3:4:5:6', 64)).to.equal('2001:db8:1:2::/64')
      expect(failureKey('2001:db8:1:2::ffff', 48)).to.equal('2001:db8:1::/48')
      expect(failureKey('2001:db8:abcd:1234:5::', 60)).to.equal('2001:db8:abcd:1230::/60')
      expect(failureKey('2001:db8::1', 128)).to.equal('2001:db8::1')
      expect(failureKey('fe80::1%eth0', 64)).to.equal('fe80::/64')
      expect(failureKey('not an ip', 64)).to.equal('not an ip')
    })

    it('given any IPv6 address and prefix, then the key is a network that holds the address, the same for every address inside it', () => {
      fc.assert(
        fc.property(fc.ipV6(), fc.integer({ min: 1, max: 127 }), (raw, prefix) => {
          const ip = normaliseIp(raw)
          if (isIP(ip) !== 6) return // IPv4-mapped: counted as IPv4
          const key = failureKey(ip, prefix)
          const net = parseNetwork(key)
          expect(net.prefix).to.equal(prefix)
          expect(buildBlockList([net]).check(ip, 'ipv6'), `${ip} in ${key}`).to.equal(true)
          expect(failureKey(net.address, prefix)).to.equal(key)
        }),
      )
    })
  })
})
