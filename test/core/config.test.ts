import { expect } from 'chai'
import fc from 'fast-check'

import { parseTrustedProxies } from '../../src/core/blacklist/ip.js'
import type { ConfigEntry, EnvName } from '../../src/core/config.js'
import { describeConfig, ENV_NAMES, loadConfig, OTHER_ENV_NAMES, redactUrl } from '../../src/core/config.js'
import { ConfigError } from '../../src/core/errors.js'

type Env = Record<string, string | undefined>

/** A minimal environment: no momentry variables, a fixed HOME so the data dir is predictable. */
const BASE: Env = { HOME: '/home/tester' }
const AUDIT_KEY = Buffer.alloc(32, 7).toString('base64')

function configErrorOf(env: Env): ConfigError {
  try {
    loadConfig(env)
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError)
    return error as ConfigError
  }
  expect.fail(`expected a ConfigError for ${JSON.stringify(env)}`)
}

function entry(entries: ConfigEntry[], name: ConfigEntry['name']): ConfigEntry {
  const found = entries.find((e) => e.name === name)
  expect(found, name).to.not.equal(undefined)
  return found!
}

describe('config', () => {
  describe('loadConfig defaults', () => {
    it('given an environment without momentry variables, when loaded, then every SPEC §3 default applies', () => {
      const config = loadConfig(BASE)
      expect(config).to.deep.equal({
        databaseUrl: undefined,
        redisUrl: undefined,
        redisPrefix: 'momentry:',
        cache: { ttlSeconds: 300, maxCapacity: 10_000 },
        rateLimit: { maxAttempts: 5, windowSeconds: 900, ipv6Prefix: 64 },
        giteaUrl: 'http://localhost:3000',
        n8nUrl: 'http://localhost:5678',
        anomaly: {
          maxRequestsPerMinute: 1000,
          maxErrorRate: 0.5,
          errorWindowSeconds: 300,
          minRequests: 20,
          maxIpsPerHour: 5,
          quietHours: { from: 0, to: 6 },
          autoDisable: 'off',
        },
        // As root (CI), the default moves out of root's 0700 home, for the embedded server's user.
        dataDir: process.getuid?.() === 0 ? '/var/lib/momentry' : '/home/tester/.local/share/momentry',
        embeddedIdleSeconds: 600,
        rotationNoticeSeconds: 7 * 86_400,
        usageRetentionSeconds: 400 * 86_400,
        auditKey: undefined,
        auditCheckpointSeconds: 3600,
        gitea: { url: undefined, username: undefined, password: undefined },
        n8n: { url: undefined, email: undefined, password: undefined },
        credentialStore: 'auto',
        httpTimeoutSeconds: 15,
        trustedProxies: parseTrustedProxies('loopback'),
        serve: { headersTimeoutSeconds: 10, requestTimeoutSeconds: 30, drainTimeoutSeconds: 10 },
      })
      // Loopback only: on a shared network (Docker, Kubernetes, a VPC) the neighbours are clients, not proxies.
      expect((config.trustedProxies as { cidr: string }[]).map((n) => n.cidr)).to.deep.equal(['127.0.0.0/8', '::1/128'])
      expect((parseTrustedProxies('private') as { cidr: string }[]).map((n) => n.cidr)).to.deep.equal(['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', 'fc00::/7', 'fe80::/10'])
    })

    it('given XDG_DATA_HOME, when loaded, then the data dir is $XDG_DATA_HOME/momentry', () => {
      expect(loadConfig({ ...BASE, XDG_DATA_HOME: '/xdg/data' }).dataDir).to.equal('/xdg/data/momentry')
    })

    it('given MOMENTRY_DATA_DIR, when loaded, then it wins over XDG_DATA_HOME', () => {
      expect(loadConfig({ ...BASE, XDG_DATA_HOME: '/xdg/data', MOMENTRY_DATA_DIR: '/srv/momentry' }).dataDir).to.equal('/srv/momentry')
    })

    it('given every variable set to a valid value, when loaded, then each lands in the typed config', () => {
      const config = loadConfig({
        ...BASE,
        DATABASE_URL: 'postgres://u:p@db.example:5433/momentry',
        REDIS_URL: 'rediss://r.example:6380',
        MOMENTRY_REDIS_PREFIX: 'team-a:',
        CACHE_TTL_SECONDS: '60',
        CACHE_MAX_CAPACITY: '500',
        RATE_LIMIT_MAX_ATTEMPTS: '3',
        RATE_LIMIT_WINDOW_SECONDS: '120',
        MOMENTRY_IPV6_LOCKOUT_PREFIX: '48',
        GITEA_URL: 'https://git.example',
        N8N_URL: 'https://n8n.example',
        ANOMALY_MAX_REQUESTS_PER_MINUTE: '50',
        ANOMALY_MAX_ERROR_RATE: '0.25',
        ANOMALY_ERROR_WINDOW_SECONDS: '600',
        ANOMALY_MIN_REQUESTS: '10',
        ANOMALY_MAX_IPS_PER_HOUR: '2',
        ANOMALY_QUIET_HOURS: '22-24',
        MOMENTRY_USAGE_RETENTION: '30d',
        MOMENTRY_AUDIT_KEY: AUDIT_KEY,
        GITEA_USERNAME: 'alice',
        GITEA_PASSWORD: 'gitea-pw',
        N8N_EMAIL: 'a@example.com',
        N8N_PASSWORD: 'n8n-pw',
      })
      expect(config.databaseUrl).to.equal('postgres://u:p@db.example:5433/momentry')
      expect(config.redisUrl).to.equal('rediss://r.example:6380')
      expect(config.redisPrefix).to.equal('team-a:')
      expect(config.cache).to.deep.equal({ ttlSeconds: 60, maxCapacity: 500 })
      expect(config.rateLimit).to.deep.equal({ maxAttempts: 3, windowSeconds: 120, ipv6Prefix: 48 })
      expect(config.giteaUrl).to.equal('https://git.example')
      expect(config.n8nUrl).to.equal('https://n8n.example')
      expect(config.anomaly).to.deep.equal({
        maxRequestsPerMinute: 50,
        maxErrorRate: 0.25,
        errorWindowSeconds: 600,
        minRequests: 10,
        maxIpsPerHour: 2,
        quietHours: { from: 22, to: 24 },
        autoDisable: 'off',
      })
      expect(config.usageRetentionSeconds).to.equal(30 * 86_400)
      expect(config.auditKey).to.equal(AUDIT_KEY)
      expect(config.gitea).to.deep.equal({ url: 'https://git.example', username: 'alice', password: 'gitea-pw' })
      expect(config.n8n).to.deep.equal({ url: 'https://n8n.example', email: 'a@example.com', password: 'n8n-pw' })
    })

    it('given empty strings for every variable, when loaded, then they count as unset and the defaults apply', () => {
      const env: Env = { ...BASE }
      for (const name of ENV_NAMES) env[name] = ''
      expect(loadConfig(env)).to.deep.equal(loadConfig(BASE))
    })

    it('given DATABASE_URL set to the empty string, when loaded, then the database is unset (embedded mode), not an error', () => {
      expect(loadConfig({ ...BASE, DATABASE_URL: '' }).databaseUrl).to.equal(undefined)
    })

    it('given a postgresql:// URL, when loaded, then it is accepted like postgres://', () => {
      expect(loadConfig({ ...BASE, DATABASE_URL: 'postgresql://h/db' }).databaseUrl).to.equal('postgresql://h/db')
    })

    it('given variables that momentry does not read, when loaded, then they are ignored', () => {
      expect(loadConfig({ ...BASE, CACHE_TTL: 'abc', UNRELATED: 'x' })).to.deep.equal(loadConfig(BASE))
    })

    it('given no env argument, when loaded, then process.env is read (the test run has a test database)', () => {
      expect(loadConfig().databaseUrl).to.equal(process.env.DATABASE_URL)
    })
  })

  describe('loadConfig invalid values', () => {
    const cases: [EnvName, string][] = [
      ['CACHE_TTL_SECONDS', 'abc'],
      ['CACHE_TTL_SECONDS', '0'],
      ['CACHE_TTL_SECONDS', '1.5'],
      ['CACHE_TTL_SECONDS', '-5'],
      ['CACHE_TTL_SECONDS', '86401'],
      ['CACHE_MAX_CAPACITY', 'lots'],
      ['RATE_LIMIT_MAX_ATTEMPTS', '0'],
      ['RATE_LIMIT_WINDOW_SECONDS', '15m'],
      ['MOMENTRY_IPV6_LOCKOUT_PREFIX', '0'],
      ['MOMENTRY_IPV6_LOCKOUT_PREFIX', '129'],
      ['MOMENTRY_IPV6_LOCKOUT_PREFIX', '/64'],
      ['ANOMALY_MAX_ERROR_RATE', '0'],
      ['ANOMALY_MAX_ERROR_RATE', '1.5'],
      ['ANOMALY_MAX_ERROR_RATE', 'half'],
      ['ANOMALY_ERROR_WINDOW_SECONDS', '5'],
      ['ANOMALY_QUIET_HOURS', '25-1'],
      ['ANOMALY_QUIET_HOURS', '0-6'],
      ['ANOMALY_QUIET_HOURS', '00-25'],
      ['ANOMALY_QUIET_HOURS', 'night'],
      ['REDIS_URL', 'http://x'],
      ['REDIS_URL', '127.0.0.1:6379'],
      ['DATABASE_URL', 'mysql://u:p@h/db'],
      ['DATABASE_URL', 'not a url'],
      // A "%" that is no percent-encoding: the clients' decodeURIComponent throws on it.
      ['DATABASE_URL', 'postgres://%zz'],
      ['DATABASE_URL', 'postgres://app:pa%zzss@db.example/momentry'],
      ['DATABASE_URL', 'postgresql://app@db.example/mom%zzentry'],
      ['REDIS_URL', 'redis://:pa%zzss@127.0.0.1:6379'],
      ['REDIS_URL', 'redis://127.0.0.1:6379/zero'],
      ['GITEA_URL', 'ftp://git.example'],
      ['N8N_URL', 'localhost:5678'],
      ['MOMENTRY_REDIS_PREFIX', 'has space'],
      ['MOMENTRY_AUDIT_KEY', Buffer.alloc(16, 1).toString('base64')],
      ['MOMENTRY_AUDIT_KEY', Buffer.alloc(33, 1).toString('base64')],
      ['MOMENTRY_AUDIT_KEY', 'not-a-key'],
      ['MOMENTRY_USAGE_RETENTION', '0d'],
      ['MOMENTRY_USAGE_RETENTION', '400 days'],
      ['MOMENTRY_HTTP_HEADERS_TIMEOUT', '10'],
      ['MOMENTRY_HTTP_HEADERS_TIMEOUT', '0s'],
      ['MOMENTRY_HTTP_HEADERS_TIMEOUT', '2h'],
      ['MOMENTRY_HTTP_HEADERS_TIMEOUT', '1m'],
      ['MOMENTRY_HTTP_REQUEST_TIMEOUT', '0s'],
      ['MOMENTRY_HTTP_REQUEST_TIMEOUT', '5s'],
      ['MOMENTRY_HTTP_REQUEST_TIMEOUT', '30 s'],
      ['MOMENTRY_HTTP_DRAIN_TIMEOUT', '-1s'],
      ['MOMENTRY_HTTP_DRAIN_TIMEOUT', '61m'],
    ]
    for (const [name, value] of cases) {
      it(`given ${name}=${JSON.stringify(value)}, when loaded, then a ConfigError (exit 8) names ${name}`, () => {
        const error = configErrorOf({ ...BASE, [name]: value })
        expect(error.exitCode).to.equal(8)
        expect(error.code).to.equal('CONFIG_ERROR')
        expect(error.reason).to.match(new RegExp(`^${name} is invalid: `))
        expect(error.hint).to.include(name)
      })
    }

    it('given serve timeouts, when loaded, then each is in seconds; a zero drain timeout means no waiting', () => {
      expect(loadConfig({ ...BASE, MOMENTRY_HTTP_HEADERS_TIMEOUT: '5s', MOMENTRY_HTTP_REQUEST_TIMEOUT: '2m', MOMENTRY_HTTP_DRAIN_TIMEOUT: '0s' }).serve).to.deep.equal({
        headersTimeoutSeconds: 5,
        requestTimeoutSeconds: 120,
        drainTimeoutSeconds: 0,
      })
      expect(loadConfig({ ...BASE, MOMENTRY_HTTP_HEADERS_TIMEOUT: '1h', MOMENTRY_HTTP_REQUEST_TIMEOUT: '1h' }).serve.headersTimeoutSeconds).to.equal(3600)
    })

    it('given a headers timeout longer than the request timeout, then the error names the variable that was set and both values', () => {
      expect(configErrorOf({ ...BASE, MOMENTRY_HTTP_HEADERS_TIMEOUT: '1m' }).reason).to.equal(
        'MOMENTRY_HTTP_HEADERS_TIMEOUT is invalid: the headers timeout (1m) must not be longer than the request timeout (30s), which includes it',
      )
      expect(configErrorOf({ ...BASE, MOMENTRY_HTTP_REQUEST_TIMEOUT: '5s' }).reason).to.match(/^MOMENTRY_HTTP_REQUEST_TIMEOUT is invalid: the headers timeout \(10s\)/)
      expect(configErrorOf({ ...BASE, MOMENTRY_HTTP_HEADERS_TIMEOUT: '20s', MOMENTRY_HTTP_REQUEST_TIMEOUT: '15s' }).reason).to.match(/^MOMENTRY_HTTP_HEADERS_TIMEOUT is invalid/)
      const described = describeConfig({ ...BASE, MOMENTRY_HTTP_REQUEST_TIMEOUT: '5s' })
      expect(entry(described, 'MOMENTRY_HTTP_REQUEST_TIMEOUT')).to.include({ value: '5s', source: 'env' })
      expect(entry(described, 'MOMENTRY_HTTP_REQUEST_TIMEOUT').problem).to.match(/must not be longer than the request timeout/)
      expect(entry(described, 'MOMENTRY_HTTP_HEADERS_TIMEOUT')).to.deep.equal({ name: 'MOMENTRY_HTTP_HEADERS_TIMEOUT', value: '10s', source: 'default' })
    })

    it('given an invalid MOMENTRY_AUDIT_KEY, when rejected, then the error does not echo the key material', () => {
      const secret = Buffer.alloc(31, 9).toString('base64')
      const error = configErrorOf({ ...BASE, MOMENTRY_AUDIT_KEY: secret })
      expect(`${error.message} ${error.hint}`).not.to.include(secret)
    })

    it('given an invalid DATABASE_URL with a password, when rejected, then the error does not echo the password', () => {
      const error = configErrorOf({ ...BASE, DATABASE_URL: 'mysql://admin:hunter2secret@h/db' })
      expect(`${error.message} ${error.hint}`).not.to.include('hunter2secret')
    })

    it('given a DATABASE_URL or REDIS_URL whose password holds a "%" that is no encoding, when rejected, then the error says how to encode it and does not echo the password', () => {
      for (const [name, value] of [
        ['DATABASE_URL', 'postgres://app:hunter%zz2secret@db.example/momentry'],
        ['REDIS_URL', 'rediss://:hunter%zz2secret@r.example:6380'],
      ] as const) {
        const error = configErrorOf({ ...BASE, [name]: value })
        expect(error.reason).to.equal(`${name} is invalid: a "%" in it is not followed by two hex digits: percent-encode the user, password and database name (% as %25, @ as %40)`)
        expect(`${error.message} ${error.hint}`).not.to.include('hunter')
        const described = entry(describeConfig({ ...BASE, [name]: value }), name)
        expect(described.problem).to.include('percent-encode')
        expect(JSON.stringify(described)).not.to.include('hunter')
      }
    })

    it('given a well-encoded password with %25 and %40 in DATABASE_URL, when loaded, then it is accepted as is', () => {
      expect(loadConfig({ ...BASE, DATABASE_URL: 'postgres://app:p%25a%40ss@db.example:5432/momentry' }).databaseUrl).to.equal('postgres://app:p%25a%40ss@db.example:5432/momentry')
    })

    it('given two invalid variables, when loaded, then the error names one of them and is a single line', () => {
      const error = configErrorOf({ ...BASE, CACHE_TTL_SECONDS: 'abc', REDIS_URL: 'http://x' })
      expect(error.reason).to.match(/^(CACHE_TTL_SECONDS|REDIS_URL) is invalid/)
      expect(error.line).not.to.include('\n')
    })

    it('given arbitrary text for CACHE_TTL_SECONDS, when loaded, then it is a config or a ConfigError naming the variable, never another error', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary' }), (value) => {
          try {
            const ttl = loadConfig({ ...BASE, CACHE_TTL_SECONDS: value }).cache.ttlSeconds
            return Number.isInteger(ttl) && ttl >= 1 && ttl <= 86_400
          } catch (error) {
            return error instanceof ConfigError && error.reason.startsWith('CACHE_TTL_SECONDS ')
          }
        }),
        { numRuns: 300 },
      )
    })
  })

  describe('describeConfig', () => {
    it('given nothing set, then MOMENTRY_IPV6_LOCKOUT_PREFIX is listed with its default 64, and loopback as the trusted proxies', () => {
      const entries = describeConfig(BASE)
      expect(entries.find((e) => e.name === 'MOMENTRY_IPV6_LOCKOUT_PREFIX')).to.deep.equal({ name: 'MOMENTRY_IPV6_LOCKOUT_PREFIX', value: '64', source: 'default' })
      expect(entries.find((e) => e.name === 'MOMENTRY_TRUSTED_PROXIES')).to.deep.include({ value: 'loopback', source: 'default' })
    })

    it('given the default environment, when described, then every variable is listed once with source default or unset', () => {
      const entries = describeConfig(BASE)
      expect(entries.map((e) => e.name)).to.deep.equal([...ENV_NAMES, ...OTHER_ENV_NAMES])
      expect(entry(entries, 'CACHE_TTL_SECONDS')).to.deep.equal({ name: 'CACHE_TTL_SECONDS', value: '300', source: 'default' })
      expect(entry(entries, 'ANOMALY_QUIET_HOURS')).to.deep.equal({ name: 'ANOMALY_QUIET_HOURS', value: '00-06', source: 'default' })
      expect(entry(entries, 'GITEA_URL')).to.deep.equal({ name: 'GITEA_URL', value: 'http://localhost:3000', source: 'default' })
      expect(entry(entries, 'MOMENTRY_DATA_DIR')).to.deep.equal({
        name: 'MOMENTRY_DATA_DIR',
        value: process.getuid?.() === 0 ? '/var/lib/momentry' : '/home/tester/.local/share/momentry',
        source: 'default',
      })
      for (const name of ['DATABASE_URL', 'REDIS_URL', 'MOMENTRY_AUDIT_KEY', 'GITEA_USERNAME', 'GITEA_PASSWORD', 'N8N_EMAIL', 'N8N_PASSWORD'] as const) {
        expect(entry(entries, name)).to.deep.equal({ name, value: null, source: 'unset' })
      }
    })

    it('given a variable set in the environment, when described, then its source is env and its value the parsed one', () => {
      const entries = describeConfig({ ...BASE, CACHE_TTL_SECONDS: '60', N8N_URL: 'https://n8n.example' })
      expect(entry(entries, 'CACHE_TTL_SECONDS')).to.deep.equal({ name: 'CACHE_TTL_SECONDS', value: '60', source: 'env' })
      expect(entry(entries, 'N8N_URL')).to.deep.equal({ name: 'N8N_URL', value: 'https://n8n.example', source: 'env' })
    })

    it('given a variable set to the empty string, when described, then it is reported as default (or unset), not env', () => {
      const entries = describeConfig({ ...BASE, CACHE_TTL_SECONDS: '', DATABASE_URL: '' })
      expect(entry(entries, 'CACHE_TTL_SECONDS').source).to.equal('default')
      expect(entry(entries, 'DATABASE_URL')).to.deep.equal({ name: 'DATABASE_URL', value: null, source: 'unset' })
    })

    it('given secrets in MOMENTRY_AUDIT_KEY, GITEA_PASSWORD and N8N_PASSWORD, when described, then they are shown as *** with source env', () => {
      const entries = describeConfig({ ...BASE, MOMENTRY_AUDIT_KEY: AUDIT_KEY, GITEA_PASSWORD: 'gitea-secret-pw', N8N_PASSWORD: 'n8n-secret-pw' })
      for (const name of ['MOMENTRY_AUDIT_KEY', 'GITEA_PASSWORD', 'N8N_PASSWORD'] as const) {
        expect(entry(entries, name)).to.deep.equal({ name, value: '***', source: 'env' })
      }
    })

    it('given URLs with passwords in DATABASE_URL and REDIS_URL, when described, then only the password is replaced by ***', () => {
      const entries = describeConfig({
        ...BASE,
        DATABASE_URL: 'postgres://app:db-secret-pw@db.example:5433/momentry?sslmode=require',
        REDIS_URL: 'redis://:redis-secret-pw@127.0.0.1:6379/2',
      })
      expect(entry(entries, 'DATABASE_URL')).to.deep.equal({
        name: 'DATABASE_URL',
        value: 'postgres://app:***@db.example:5433/momentry?sslmode=require',
        source: 'env',
      })
      expect(entry(entries, 'REDIS_URL')).to.deep.equal({ name: 'REDIS_URL', value: 'redis://:***@127.0.0.1:6379/2', source: 'env' })
    })

    it('given URLs without a password, when described, then they are shown unchanged', () => {
      const entries = describeConfig({ ...BASE, DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/momentry', REDIS_URL: 'redis://127.0.0.1:6379' })
      expect(entry(entries, 'DATABASE_URL').value).to.equal('postgres://postgres@127.0.0.1:5432/momentry')
      expect(entry(entries, 'REDIS_URL').value).to.equal('redis://127.0.0.1:6379')
    })

    it('given a fully configured environment, when described, then no secret appears anywhere in the output', () => {
      const secrets = ['db-secret-pw', 'redis-secret-pw', 'gitea-secret-pw', 'n8n-secret-pw', AUDIT_KEY]
      const text = JSON.stringify(
        describeConfig({
          ...BASE,
          DATABASE_URL: 'postgres://app:db-secret-pw@db/momentry',
          REDIS_URL: 'redis://default:redis-secret-pw@r:6379',
          MOMENTRY_AUDIT_KEY: AUDIT_KEY,
          GITEA_USERNAME: 'alice',
          GITEA_PASSWORD: 'gitea-secret-pw',
          N8N_EMAIL: 'a@example.com',
          N8N_PASSWORD: 'n8n-secret-pw',
        }),
      )
      for (const s of secrets) expect(text).not.to.include(s)
      expect(text).to.include('alice')
    })

    it('given MOMENTRY_ACTOR, MOMENTRY_DEBUG and NO_COLOR, when described, then each is listed with its source', () => {
      const unset = describeConfig(BASE)
      expect(entry(unset, 'MOMENTRY_ACTOR')).to.include({ source: 'default' }).and.have.property('value').that.matches(/^cli:/)
      expect(entry(unset, 'MOMENTRY_DEBUG')).to.deep.equal({ name: 'MOMENTRY_DEBUG', value: null, source: 'unset' })
      expect(entry(unset, 'NO_COLOR')).to.deep.equal({ name: 'NO_COLOR', value: null, source: 'unset' })
      const set = describeConfig({ ...BASE, MOMENTRY_ACTOR: 'ci:nightly', MOMENTRY_DEBUG: '1', NO_COLOR: '1' })
      expect(entry(set, 'MOMENTRY_ACTOR')).to.deep.equal({ name: 'MOMENTRY_ACTOR', value: 'ci:nightly', source: 'env' })
      expect(entry(set, 'MOMENTRY_DEBUG')).to.deep.equal({ name: 'MOMENTRY_DEBUG', value: '1', source: 'env' })
      expect(entry(set, 'NO_COLOR')).to.deep.equal({ name: 'NO_COLOR', value: '1', source: 'env' })
    })

    it('given invalid variables, when described, then every variable is still listed and each bad one carries its value, problem and fix', () => {
      const entries = describeConfig({ ...BASE, CACHE_TTL_SECONDS: 'abc', REDIS_URL: 'http://x', CACHE_MAX_CAPACITY: '50' })
      expect(entries.map((e) => e.name)).to.deep.equal([...ENV_NAMES, ...OTHER_ENV_NAMES])
      expect(entry(entries, 'CACHE_TTL_SECONDS')).to.deep.equal({
        name: 'CACHE_TTL_SECONDS',
        value: 'abc',
        source: 'env',
        problem: 'expected a whole number',
        fix: 'Set CACHE_TTL_SECONDS as expected, or unset it to use the default, 300',
      })
      expect(entry(entries, 'REDIS_URL')).to.include({ source: 'env', problem: 'expected a redis://… or rediss://… URL', fix: 'Set REDIS_URL as expected, or unset it' })
      expect(entry(entries, 'CACHE_MAX_CAPACITY')).to.deep.equal({ name: 'CACHE_MAX_CAPACITY', value: '50', source: 'env' })
      expect(entries.filter((e) => e.problem).map((e) => e.name)).to.deep.equal(['REDIS_URL', 'CACHE_TTL_SECONDS'])
    })

    it('given an invalid secret, when described, then its value is still redacted', () => {
      const bad = 'not-a-key-but-private'
      const entries = describeConfig({ ...BASE, MOMENTRY_AUDIT_KEY: bad, GITEA_PASSWORD: 'pw' })
      expect(entry(entries, 'MOMENTRY_AUDIT_KEY')).to.include({ value: '***', source: 'env' }).and.have.property('problem')
      expect(JSON.stringify(entries)).not.to.include(bad)
    })

    it('given an invalid variable, when loaded, then loadConfig still throws one ConfigError naming it', () => {
      expect(configErrorOf({ ...BASE, REDIS_URL: 'http://x' }).reason).to.match(/^REDIS_URL is invalid/)
    })
  })

  describe('redactUrl', () => {
    it('given a value that is not a URL, when redacted, then nothing of it is shown', () => {
      expect(redactUrl('not a url with secret')).to.equal('***')
    })

    it('given any password in a postgres URL, when redacted, then the password does not appear', () => {
      fc.assert(
        fc.property(fc.stringMatching(/^[A-Za-z0-9]{8,30}$/), (password) => {
          const shown = redactUrl(`postgres://user:${password}@host:5432/db`)
          return shown === 'postgres://user:***@host:5432/db'
        }),
      )
    })
  })
})
