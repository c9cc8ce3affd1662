import { expect } from 'chai'
import fc from 'fast-check'

import { formatDuration, MAX_DURATION_SECONDS, parseDuration } from '../../src/core/duration.js'
import { UsageError } from '../../src/core/errors.js'

const UNITS = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 } as const
type Unit = keyof typeof UNITS

function usageErrorOf(fn: () => unknown): UsageError {
  try {
    fn()
  } catch (error) {
    expect(error).to.be.instanceOf(UsageError)
    return error as UsageError
  }
  expect.fail('expected a UsageError')
}

/** Any `<n><unit>` string that is a valid, non-zero duration of at most 100 years. */
const validDurationArb = fc
  .constantFrom(...(Object.keys(UNITS) as Unit[]))
  .chain((unit) =>
    fc.integer({ min: 1, max: Math.min(999_999_999, Math.floor(MAX_DURATION_SECONDS / UNITS[unit])) }).map((n) => ({ text: `${n}${unit}`, seconds: n * UNITS[unit] })),
  )

describe('duration', () => {
  describe('parseDuration', () => {
    for (const [text, seconds] of [
      ['1s', 1],
      ['45s', 45],
      ['1m', 60],
      ['90m', 5400],
      ['12h', 43_200],
      ['1d', 86_400],
      ['90d', 7_776_000],
      ['2w', 1_209_600],
    ] as const) {
      it(`given "${text}", when parsed, then it is ${seconds} seconds`, () => {
        expect(parseDuration(text)).to.equal(seconds)
      })
    }

    it('given surrounding spaces, when parsed, then they are ignored', () => {
      expect(parseDuration('  30d ')).to.equal(30 * 86_400)
    })

    it('given leading zeros, when parsed, then the number is read in decimal (not octal)', () => {
      expect(parseDuration('010s')).to.equal(10)
      expect(parseDuration('08h')).to.equal(8 * 3600)
    })

    it('given a zero duration, when parsed without allowZero, then it is a UsageError naming the label', () => {
      const error = usageErrorOf(() => parseDuration('0s', 'grace'))
      expect(error.reason).to.match(/^grace: /)
      expect(error.reason).to.include('longer than zero')
    })

    it('given zero in any unit, when parsed with allowZero, then it is 0', () => {
      for (const unit of Object.keys(UNITS)) expect(parseDuration(`0${unit}`, 'grace', { allowZero: true })).to.equal(0)
    })

    it('given exactly 100 years (36500d, 876000h), when parsed, then it is accepted as the maximum', () => {
      expect(MAX_DURATION_SECONDS).to.equal(100 * 365 * 86_400)
      expect(parseDuration('36500d')).to.equal(MAX_DURATION_SECONDS)
      expect(parseDuration('876000h')).to.equal(MAX_DURATION_SECONDS)
      expect(parseDuration('5214w')).to.equal(5214 * 604_800)
    })

    it('given a duration of more than 100 years, when parsed, then it is a UsageError naming the label', () => {
      for (const text of ['36501d', '5215w', '876001h', '999999999w']) {
        const error = usageErrorOf(() => parseDuration(text, 'expires-in'))
        expect(error.reason).to.match(/^expires-in: /)
        expect(error.reason).to.include('100 years')
        expect(error.exitCode).to.equal(2)
      }
    })

    it('given an over-long duration with a trailing newline, when parsed, then the error reason is still one line', () => {
      const error = usageErrorOf(() => parseDuration('5300w\n', 'rotate-every'))
      expect(error.reason).to.include('100 years')
      expect(error.reason).not.to.match(/[\r\n]/)
    })

    for (const garbage of ['', ' ', 'd', '30', '30 d', '30D', '1.5h', '-1d', '+1d', '1d2h', '1y', '1ms', '0x10s', '1e3s', '١٢h', '３０d', 'NaN', "1d'; drop table api_keys; --", '99999999999999999999s']) {
      it(`given ${JSON.stringify(garbage)}, when parsed, then it is a UsageError (exit 2) that names the label`, () => {
        const error = usageErrorOf(() => parseDuration(garbage, 'expires-in'))
        expect(error.exitCode).to.equal(2)
        expect(error.code).to.equal('USAGE_ERROR')
        expect(error.reason).to.match(/^expires-in: /)
        expect(error.hint).to.be.a('string').and.not.equal('')
      })
    }

    it('given no label, when parsing garbage, then the reason is labelled "duration"', () => {
      expect(usageErrorOf(() => parseDuration('soon')).reason).to.match(/^duration: /)
    })

    it('given control characters and a very long input, when rejected, then the reason echoes a short, de-fanged version', () => {
      const error = usageErrorOf(() => parseDuration(`\u001b[31m${'x'.repeat(10_000)}`, 'grace'))
      expect(error.reason).not.to.include('\u001b')
      expect(error.reason.length).to.be.below(120)
    })

    it('given valid durations, when parsed, then the result is n × the unit size', () => {
      fc.assert(
        fc.property(validDurationArb, ({ text, seconds }) => parseDuration(text) === seconds),
        { numRuns: 500 },
      )
    })

    it('given arbitrary strings, when parsed, then the result is a positive integer ≤ 100 years or a UsageError, never anything else', () => {
      fc.assert(
        fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.stringMatching(/^\s*\d{0,11}[smhdwy]?\s*$/)), (s) => {
          try {
            const n = parseDuration(s, 'flag')
            return Number.isInteger(n) && n > 0 && n <= MAX_DURATION_SECONDS
          } catch (error) {
            return error instanceof UsageError && error.exitCode === 2 && error.reason.startsWith('flag: ')
          }
        }),
        { numRuns: 2000 },
      )
    })
  })

  describe('formatDuration', () => {
    for (const [seconds, text] of [
      [0, '0s'],
      [1, '1s'],
      [59, '59s'],
      [60, '1m'],
      [61, '61s'],
      [3600, '1h'],
      [5400, '90m'],
      [86_400, '1d'],
      [172_800, '2d'],
      [604_800, '1w'],
      [7_776_000, '90d'],
      [1_209_600, '2w'],
    ] as const) {
      it(`given ${seconds} seconds, when formatted, then it is "${text}" (largest exact unit)`, () => {
        expect(formatDuration(seconds)).to.equal(text)
      })
    }

    it('given a valid duration, when parsed and formatted, then parsing the result gives the same seconds', () => {
      fc.assert(
        fc.property(validDurationArb, ({ text }) => parseDuration(formatDuration(parseDuration(text))) === parseDuration(text)),
        { numRuns: 1000 },
      )
    })

    it('given a duration already in its largest exact unit without leading zeros, when parsed and formatted, then the text is unchanged', () => {
      fc.assert(
        fc.property(validDurationArb, ({ text, seconds }) => {
          fc.pre(formatDuration(seconds) === text) // canonical inputs only (e.g. not "60s", which is "1m")
          return formatDuration(parseDuration(text)) === text
        }),
        { numRuns: 1000 },
      )
    })

    it('given any whole number of seconds from 1 to 100 years, when formatted and parsed back, then it is the same number', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: MAX_DURATION_SECONDS }), (n) => parseDuration(formatDuration(n)) === n),
        { numRuns: 2000, examples: [[1], [59], [60], [999_999_999], [1_000_000_001], [MAX_DURATION_SECONDS - 1], [MAX_DURATION_SECONDS]] },
      )
    })

    it('given a multiple of a unit, when formatted, then the output uses the largest unit that divides it', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 5000 }), fc.constantFrom(...(Object.keys(UNITS) as Unit[])), (n, unit) => {
          const text = formatDuration(n * UNITS[unit])
          const match = /^(\d+)([smhdw])$/.exec(text)
          if (!match) return false
          const used = UNITS[match[2] as Unit]
          return Number(match[1]) * used === n * UNITS[unit] && used >= UNITS[unit]
        }),
      )
    })
  })
})
