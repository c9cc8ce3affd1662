import { homedir } from 'node:os'
import { join } from 'node:path'
import * as z from 'zod'

import { defaultActor } from './actor.js'
import type { TrustedProxies } from './blacklist/ip.js'
import { parseTrustedProxies } from './blacklist/ip.js'
import { formatDuration, parseDuration } from './duration.js'
import { ConfigError } from './errors.js'
import { printable } from './printable.js'

const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
const url = (protocols: string[]) =>
  z.string().refine((value) => {
    try {
      return protocols.includes(new URL(value).protocol)
    } catch {
      return false
    }
  }, `expected a ${protocols.map((p) => `${p}//…`).join(' or ')} URL`)

const decodes = (part: string) => {
  try {
    decodeURIComponent(part)
    return true
  } catch {
    return false
  }
}

/**
 * A connection URL as its client reads it. postgres.js and node-redis percent-decode the user,
 * password, host and database with decodeURIComponent, which throws on a `%` not followed by
 * two hex digits; that came out later as "unexpected error: URI malformed" (exit 1). Checked
 * here instead, so it is a ConfigError naming the variable. The messages never hold the value:
 * the URL may carry a password.
 */
const connectionUrl = (protocols: string[]) =>
  z.string().superRefine((value, ctx) => {
    let u: URL | undefined
    try {
      u = new URL(value)
    } catch {
      u = undefined
    }
    if (!u || !protocols.includes(u.protocol)) {
      ctx.addIssue({ code: 'custom', message: `expected a ${protocols.map((p) => `${p}//…`).join(' or ')} URL` })
      return
    }
    // postgres.js also decodes the host as written, before the WHATWG parser touches it.
    const authority = value.slice(value.indexOf('://') + 3).split(/[?/]/)[0]!
    if (![u.username, u.password, u.pathname, authority.slice(authority.indexOf('@') + 1)].every(decodes)) {
      ctx.addIssue({ code: 'custom', message: 'a "%" in it is not followed by two hex digits: percent-encode the user, password and database name (% as %25, @ as %40)' })
      return
    }
    if (u.protocol.startsWith('redis') && !/^(\/\d*)?$/.test(u.pathname)) {
      ctx.addIssue({ code: 'custom', message: 'the path must be a database number, as in redis://host:6379/0' })
    }
  })

/**
 * `<n>s|m|h|d|w` as parseDuration takes it, refused here (so as a ConfigError, exit 8) when
 * it is out of range — over 100 years, or zero where zero means nothing — instead of later.
 */
const duration = (example: string, { allowZero = false, maxSeconds }: { allowZero?: boolean; maxSeconds?: number } = {}) =>
  z
    .string()
    .regex(/^\d{1,10}[smhdw]$/, `expected a duration like ${example}`)
    .refine((v) => {
      try {
        return parseDuration(v, 'duration', { allowZero }) <= (maxSeconds ?? Infinity)
      } catch {
        return false
      }
    }, `expected a duration ${allowZero ? '' : 'longer than zero and '}of at most ${maxSeconds === undefined ? '100 years' : formatDuration(maxSeconds)}, like ${example}`)

/** Every environment variable momentry reads, with its default. Names are the seed's. */
const envSchema = z.object({
  DATABASE_URL: connectionUrl(['postgres:', 'postgresql:']).optional(),
  REDIS_URL: connectionUrl(['redis:', 'rediss:']).optional(),
  MOMENTRY_REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'expected letters, digits and _.:- only').default('momentry:'),
  CACHE_TTL_SECONDS: int(1, 86_400).default(300),
  CACHE_MAX_CAPACITY: int(1, 10_000_000).default(10_000),
  RATE_LIMIT_MAX_ATTEMPTS: int(1, 1_000_000).default(5),
  RATE_LIMIT_WINDOW_SECONDS: int(1, 31_536_000).default(900),
  MOMENTRY_IPV6_LOCKOUT_PREFIX: int(1, 128).default(64),
  GITEA_URL: url(['http:', 'https:']).default('http://localhost:3000'),
  N8N_URL: url(['http:', 'https:']).default('http://localhost:5678'),
  ANOMALY_MAX_REQUESTS_PER_MINUTE: int(1, 100_000_000).default(1000),
  ANOMALY_MAX_ERROR_RATE: z.string().regex(/^(0|1)?(\.\d+)?$/, 'expected a number between 0 and 1').transform(Number).pipe(z.number().gt(0).lte(1)).default(0.5),
  ANOMALY_ERROR_WINDOW_SECONDS: int(10, 86_400).default(300),
  ANOMALY_MIN_REQUESTS: int(1, 1_000_000).default(20),
  ANOMALY_MAX_IPS_PER_HOUR: int(1, 1_000_000).default(5),
  ANOMALY_QUIET_HOURS: z
    .string()
    .regex(/^([01]\d|2[0-3])-([01]\d|2[0-4])$/, 'expected HH-HH, e.g. 00-06')
    .default('00-06'),
  ANOMALY_AUTO_DISABLE: z.enum(['critical', 'high', 'off'], { message: 'expected critical, high or off' }).default('off'),
  MOMENTRY_ROTATION_NOTICE: duration('7d', { allowZero: true }).default('7d'),
  MOMENTRY_USAGE_RETENTION: z
    .string()
    .refine((v) => {
      try {
        return parseDuration(v) > 0
      } catch {
        return false
      }
    }, 'expected a duration longer than zero, like 400d')
    .default('400d'),
  MOMENTRY_DATA_DIR: z.string().min(1).optional(),
  MOMENTRY_EMBEDDED_IDLE: duration('10m').default('10m'),
  MOMENTRY_AUDIT_KEY: z
    .string()
    .refine((v) => v.split(',').every((k) => /^[A-Za-z0-9+/]{43}=$/.test(k.trim())), 'expected 32 bytes, base64-encoded (a comma-separated list keeps older keys readable)')
    .optional(),
  MOMENTRY_AUDIT_CHECKPOINT_EVERY: duration('1h').default('1h'),
  GITEA_USERNAME: z.string().min(1).optional(),
  GITEA_PASSWORD: z.string().min(1).optional(),
  N8N_EMAIL: z.string().min(1).optional(),
  N8N_PASSWORD: z.string().min(1).optional(),
  MOMENTRY_CREDENTIAL_STORE: z.enum(['auto', 'keychain', 'file'], { message: 'expected auto, keychain or file' }).default('auto'),
  MOMENTRY_HTTP_TIMEOUT_SECONDS: int(1, 600).default(15),
  // `serve`'s own bounds on a client: an hour is already far past any reason.
  MOMENTRY_HTTP_HEADERS_TIMEOUT: duration('10s', { maxSeconds: 3600 }).default('10s'),
  MOMENTRY_HTTP_REQUEST_TIMEOUT: duration('30s', { maxSeconds: 3600 }).default('30s'),
  MOMENTRY_HTTP_DRAIN_TIMEOUT: duration('10s', { allowZero: true, maxSeconds: 3600 }).default('10s'),
  MOMENTRY_TRUSTED_PROXIES: z
    .string()
    .refine(
      (v) => {
        try {
          parseTrustedProxies(v)
          return true
        } catch {
          return false
        }
      },
      { message: 'expected any, none, or a comma-separated list of IPs, CIDR ranges, loopback and private' },
    )
    .default('loopback'),
})

export type EnvName = keyof typeof envSchema.shape
export const ENV_NAMES = Object.keys(envSchema.shape) as EnvName[]

/** Variables whose value is a secret or may contain one; `config` and logs redact them. */
const SECRET_NAMES = new Set<EnvName>(['MOMENTRY_AUDIT_KEY', 'GITEA_PASSWORD', 'N8N_PASSWORD'])
const URL_NAMES = new Set<EnvName>(['DATABASE_URL', 'REDIS_URL'])

export interface Config {
  databaseUrl?: string
  redisUrl?: string
  redisPrefix: string
  cache: { ttlSeconds: number; maxCapacity: number }
  /** Lockout: failures allowed per window, per IPv4 address or per IPv6 network of `ipv6Prefix` bits. */
  rateLimit: { maxAttempts: number; windowSeconds: number; ipv6Prefix: number }
  giteaUrl: string
  n8nUrl: string
  anomaly: {
    maxRequestsPerMinute: number
    maxErrorRate: number
    errorWindowSeconds: number
    minRequests: number
    maxIpsPerHour: number
    quietHours: { from: number; to: number }
    /** Disable a key automatically on an anomaly of at least this severity. */
    autoDisable: 'critical' | 'high' | 'off'
  }
  dataDir: string
  /** The embedded PostgreSQL (no DATABASE_URL) stops after this long without a client. */
  embeddedIdleSeconds: number
  /** How long before a scheduled rotation `key.rotation_due` fires. */
  rotationNoticeSeconds: number
  /** `api-key cleanup` purges usage aggregates older than this. */
  usageRetentionSeconds: number
  /** MOMENTRY_AUDIT_KEY: base64 keys, the first encrypting, the rest readable. */
  auditKey?: string
  /** How often `serve` signs an audit checkpoint. */
  auditCheckpointSeconds: number
  /** `url` only when GITEA_URL / N8N_URL was set explicitly (it then wins over the stored URL). */
  gitea: { url?: string; username?: string; password?: string }
  n8n: { url?: string; email?: string; password?: string }
  /** Where `auth login` stores credentials: the OS keychain with a file fallback, or one of them only. */
  credentialStore: 'auto' | 'keychain' | 'file'
  /** Connect, headers and body timeouts of calls to Gitea and n8n. */
  httpTimeoutSeconds: number
  /** Callers of `serve` whose request body may name the client's IP (proxies, gateways). */
  trustedProxies: TrustedProxies
  /** `serve`'s bounds on its clients and on its own shutdown. */
  serve: {
    /** From a request's first byte to the end of its headers. */
    headersTimeoutSeconds: number
    /** From a request's first byte to the end of its body (at least headersTimeoutSeconds). */
    requestTimeoutSeconds: number
    /** On SIGINT/SIGTERM, how long requests in flight may take before their connections are closed. */
    drainTimeoutSeconds: number
  }
}

/**
 * Variables read outside the typed config (by the CLI and the logger), listed by `config`
 * too: who acts, debug output, colour. Their values cannot be invalid.
 */
export const OTHER_ENV_NAMES = ['MOMENTRY_ACTOR', 'MOMENTRY_DEBUG', 'NO_COLOR'] as const

export interface ConfigEntry {
  name: EnvName | (typeof OTHER_ENV_NAMES)[number]
  /** The value in effect (secrets `***`); for an invalid variable, the value as set. */
  value: string | null
  source: 'env' | 'default' | 'unset'
  /** Only on an invalid variable: what is wrong with it… */
  problem?: string
  /** …and what to do about it. */
  fix?: string
}

type Env = Record<string, string | undefined>
type EnvValues = z.infer<typeof envSchema>

// An empty variable means "unset" (a common shell idiom: `DATABASE_URL= momentry …`).
const isSet = (env: Env, name: string) => env[name] !== undefined && env[name] !== ''

/**
 * Each variable parsed on its own, so that one bad value does not hide the others: the
 * values of the good ones and, per bad one, what is wrong.
 */
function parseEach(env: Env): { values: Partial<EnvValues>; problems: Map<EnvName, string> } {
  const values: Record<string, unknown> = {}
  const problems = new Map<EnvName, string>()
  for (const name of ENV_NAMES) {
    const parsed = envSchema.shape[name].safeParse(isSet(env, name) ? env[name] : undefined)
    if (parsed.success) values[name] = parsed.data
    else problems.set(name, parsed.error.issues[0]!.message)
  }
  // Headers are part of the request: a headers timeout past the request's could never apply
  // (Node refuses the pair). Blamed on the one that was set, so the message names what to change.
  const { MOMENTRY_HTTP_HEADERS_TIMEOUT: headers, MOMENTRY_HTTP_REQUEST_TIMEOUT: request } = values as Partial<EnvValues>
  if (headers !== undefined && request !== undefined && parseDuration(headers) > parseDuration(request)) {
    const blamed = isSet(env, 'MOMENTRY_HTTP_HEADERS_TIMEOUT') || !isSet(env, 'MOMENTRY_HTTP_REQUEST_TIMEOUT') ? 'MOMENTRY_HTTP_HEADERS_TIMEOUT' : 'MOMENTRY_HTTP_REQUEST_TIMEOUT'
    problems.set(blamed, `the headers timeout (${headers}) must not be longer than the request timeout (${request}), which includes it`)
    delete values[blamed]
  }
  return { values: values as Partial<EnvValues>, problems }
}

const fixOf = (name: EnvName) => {
  const fallback = envSchema.shape[name].safeParse(undefined)
  const byDefault = fallback.success && fallback.data !== undefined ? ` to use the default, ${String(fallback.data)}` : ''
  return `Set ${name} as expected, or unset it${byDefault}`
}

function readEnv(env: Env): EnvValues {
  const { values, problems } = parseEach(env)
  const [bad] = problems
  if (bad) {
    const [name, message] = bad
    throw new ConfigError(`${name} is invalid: ${message}`, `Fix or unset ${name}; \`momentry config\` lists every variable with its default`)
  }
  return values as EnvValues
}

/**
 * `$XDG_DATA_HOME/momentry` (`~/.local/share/momentry`). As root — containers, CI — it is
 * /var/lib/momentry instead: the embedded PostgreSQL runs as an unprivileged user there, and
 * that user cannot enter root's home (mode 0700), which is not loosened for it.
 */
function defaultDataDir(env: Env): string {
  if (!env.XDG_DATA_HOME && process.getuid?.() === 0) return '/var/lib/momentry'
  const base = env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local', 'share')
  return join(base, 'momentry')
}

/** Read and validate the environment once into a typed config. Throws ConfigError naming the variable. */
export function loadConfig(env: Env = process.env): Config {
  const e = readEnv(env)
  const [from, to] = e.ANOMALY_QUIET_HOURS.split('-').map(Number) as [number, number]
  return {
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    redisPrefix: e.MOMENTRY_REDIS_PREFIX,
    cache: { ttlSeconds: e.CACHE_TTL_SECONDS, maxCapacity: e.CACHE_MAX_CAPACITY },
    rateLimit: { maxAttempts: e.RATE_LIMIT_MAX_ATTEMPTS, windowSeconds: e.RATE_LIMIT_WINDOW_SECONDS, ipv6Prefix: e.MOMENTRY_IPV6_LOCKOUT_PREFIX },
    giteaUrl: e.GITEA_URL,
    n8nUrl: e.N8N_URL,
    anomaly: {
      maxRequestsPerMinute: e.ANOMALY_MAX_REQUESTS_PER_MINUTE,
      maxErrorRate: e.ANOMALY_MAX_ERROR_RATE,
      errorWindowSeconds: e.ANOMALY_ERROR_WINDOW_SECONDS,
      minRequests: e.ANOMALY_MIN_REQUESTS,
      maxIpsPerHour: e.ANOMALY_MAX_IPS_PER_HOUR,
      quietHours: { from, to },
      autoDisable: e.ANOMALY_AUTO_DISABLE,
    },
    dataDir: e.MOMENTRY_DATA_DIR ?? defaultDataDir(env),
    embeddedIdleSeconds: parseDuration(e.MOMENTRY_EMBEDDED_IDLE, 'MOMENTRY_EMBEDDED_IDLE'),
    rotationNoticeSeconds: parseDuration(e.MOMENTRY_ROTATION_NOTICE, 'MOMENTRY_ROTATION_NOTICE', { allowZero: true }),
    usageRetentionSeconds: parseDuration(e.MOMENTRY_USAGE_RETENTION, 'MOMENTRY_USAGE_RETENTION'),
    auditKey: e.MOMENTRY_AUDIT_KEY,
    auditCheckpointSeconds: parseDuration(e.MOMENTRY_AUDIT_CHECKPOINT_EVERY, 'MOMENTRY_AUDIT_CHECKPOINT_EVERY'),
    gitea: { url: env.GITEA_URL ? e.GITEA_URL : undefined, username: e.GITEA_USERNAME, password: e.GITEA_PASSWORD },
    n8n: { url: env.N8N_URL ? e.N8N_URL : undefined, email: e.N8N_EMAIL, password: e.N8N_PASSWORD },
    credentialStore: e.MOMENTRY_CREDENTIAL_STORE,
    httpTimeoutSeconds: e.MOMENTRY_HTTP_TIMEOUT_SECONDS,
    trustedProxies: parseTrustedProxies(e.MOMENTRY_TRUSTED_PROXIES),
    serve: {
      headersTimeoutSeconds: parseDuration(e.MOMENTRY_HTTP_HEADERS_TIMEOUT, 'MOMENTRY_HTTP_HEADERS_TIMEOUT'),
      requestTimeoutSeconds: parseDuration(e.MOMENTRY_HTTP_REQUEST_TIMEOUT, 'MOMENTRY_HTTP_REQUEST_TIMEOUT'),
      drainTimeoutSeconds: parseDuration(e.MOMENTRY_HTTP_DRAIN_TIMEOUT, 'MOMENTRY_HTTP_DRAIN_TIMEOUT', { allowZero: true }),
    },
  }
}

/** Remove the password from a connection URL, keeping everything a reader needs to debug it. */
export function redactUrl(value: string): string {
  try {
    const u = new URL(value)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return '***'
  }
}

const shownValue = (name: EnvName, value: string) => (SECRET_NAMES.has(name) ? '***' : URL_NAMES.has(name) ? redactUrl(value) : value)

/**
 * The effective value of every variable and where it came from, secrets redacted. Never
 * throws: an invalid variable is listed with the value as set, what is wrong and the fix,
 * so that `config` and `doctor` can explain what stops every other command.
 */
export function describeConfig(env: Env = process.env): ConfigEntry[] {
  const { values, problems } = parseEach(env)
  const typed = ENV_NAMES.map((name): ConfigEntry => {
    const fromEnv = isSet(env, name)
    const problem = problems.get(name)
    if (problem) return { name, value: printable(shownValue(name, env[name]!), 80), source: 'env', problem, fix: fixOf(name) }
    let value: unknown = values[name]
    if (name === 'MOMENTRY_DATA_DIR' && value === undefined) value = defaultDataDir(env)
    if (value === undefined) return { name, value: null, source: 'unset' }
    // Shown on one line whatever it holds (a valid e-mail or path can still hold a newline).
    return { name, value: shownValue(name, printable(String(value), 1000)), source: fromEnv ? 'env' : 'default' }
  })
  const other = OTHER_ENV_NAMES.map((name): ConfigEntry => {
    if (isSet(env, name)) return { name, value: printable(env[name]!, 80), source: 'env' }
    return name === 'MOMENTRY_ACTOR' ? { name, value: defaultActor(), source: 'default' } : { name, value: null, source: 'unset' }
  })
  return [...typed, ...other]
}

/** The variables `describeConfig` found invalid. */
export const invalidEntries = (entries: ConfigEntry[]) => entries.filter((e) => e.problem !== undefined)
