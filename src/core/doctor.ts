import type { ConfigEntry } from './config.js'
import { invalidEntries } from './config.js'
import type { CoreContext } from './context.js'
import { classifyPostgresError, databaseLabel } from './db/connect.js'
import { migrationStatus } from './db/migrate.js'
import { embeddedStatus } from './embedded/embedded-server.js'
import type { CredentialStore, Service } from './credentials/credential-store.js'
import type { ExitCodeValue } from './errors.js'
import { ExitCode, MomentryError } from './errors.js'
import { checkGiteaLogin, giteaTarget } from './gitea/gitea-client.js'
import { loginN8n, n8nTarget } from './n8n/n8n-client.js'
import { countPlainSecrets } from './webhooks/repo.js'

export interface DoctorCheck {
  name: string
  status: 'ok' | 'warn' | 'fail'
  detail: string
  fix?: string
}

export interface DoctorReport {
  /** `embedded`: no DATABASE_URL, momentry's own PostgreSQL; `servers`: DATABASE_URL. */
  mode: 'embedded' | 'servers'
  /** Whether REDIS_URL is set (SPEC §2: without it nothing is lost, lockout counts in PostgreSQL). */
  redis: boolean
  checks: DoctorCheck[]
  ok: boolean
  /** Every variable as `config` shows it (secrets redacted); an invalid one carries its problem and fix. */
  config: ConfigEntry[]
}

/** Gitea and n8n are third parties: their failing alone is an external-service error (exit 7). */
const EXTERNAL_CHECKS = new Set(['gitea', 'n8n'])

/**
 * The exit code of a report (SPEC §12): 0 when nothing fails; 7 when only Gitea or n8n fail;
 * 8 when anything of momentry's own (configuration, PostgreSQL, migrations, Redis, keychain) does.
 */
export function doctorExitCode(report: DoctorReport): ExitCodeValue {
  const failed = report.checks.filter((c) => c.status === 'fail')
  if (failed.length === 0) return ExitCode.OK
  return failed.every((c) => EXTERNAL_CHECKS.has(c.name)) ? ExitCode.EXTERNAL : ExitCode.CONFIG
}

/** The environment as one check: ok, or the invalid variables with what is wrong and the fix. */
export function checkConfig(entries: ConfigEntry[]): DoctorCheck {
  const invalid = invalidEntries(entries)
  if (invalid.length === 0) return { name: 'config', status: 'ok', detail: `${entries.filter((e) => e.source === 'env').length} variables set, all valid` }
  return {
    name: 'config',
    status: 'fail',
    detail: invalid.map((e) => `${e.name} is invalid: ${e.problem}`).join('; '),
    fix: invalid.length === 1 ? invalid[0]!.fix : `Fix or unset ${invalid.map((e) => e.name).join(', ')}; \`momentry config\` shows what each expects`,
  }
}

/**
 * What doctor can say when the environment is invalid: nothing can be connected to as
 * configured (every other command refuses to start), so the other checks are not run and
 * the report is the configuration itself.
 */
export function invalidConfigReport(entries: ConfigEntry[], env: Record<string, string | undefined>): DoctorReport {
  return { mode: env.DATABASE_URL ? 'servers' : 'embedded', redis: Boolean(env.REDIS_URL), checks: [checkConfig(entries)], ok: false, config: entries }
}

const formatSize = (n: number) => (n >= 1_048_576 ? `${(n / 1_048_576).toFixed(1)} MB` : `${Math.round(n / 1024)} KB`)

function failure(name: string, error: unknown, where?: string): DoctorCheck {
  const e = classifyPostgresError(error, where) ?? error
  if (e instanceof MomentryError) return { name, status: 'fail', detail: e.reason, fix: e.hint }
  return { name, status: 'fail', detail: String((e as Error)?.message ?? e) }
}

async function checkPostgres(ctx: CoreContext): Promise<DoctorCheck[]> {
  const url = ctx.config.databaseUrl
  try {
    // Embedded: say how the server was found (this query starts it if it was stopped).
    const before = url ? undefined : await embeddedStatus(ctx.config)
    const [row] = await ctx.sql`select current_setting('server_version') as version, current_database() as db`
    const after = before && (await embeddedStatus(ctx.config))
    const where = after
      ? `embedded PostgreSQL ${row!.version} ${before!.state === 'running' ? 'running' : `started now (was ${before!.state})`}, pid ${after.pid}, socket ${after.socket}, data ${after.dataDir} (${formatSize(after.sizeBytes)})`
      : `PostgreSQL ${row!.version}, database ${row!.db}`
    const checks: DoctorCheck[] = [{ name: 'postgres', status: 'ok', detail: where }]
    const states = await migrationStatus(ctx.sql)
    const pending = states.filter((s) => s.state === 'pending')
    const broken = states.filter((s) => s.state === 'changed' || s.state === 'missing')
    if (broken.length > 0) {
      checks.push({
        name: 'migrations',
        status: 'fail',
        detail: `${broken.map((s) => `${s.name} ${s.state}`).join(', ')}`,
        fix: 'Restore the applied migration files; `momentry db status` shows each',
      })
    } else if (pending.length > 0) {
      checks.push({ name: 'migrations', status: 'fail', detail: `${pending.length} pending (${pending.map((s) => s.name).join(', ')})`, fix: 'Run `momentry db migrate`' })
    } else {
      checks.push({ name: 'migrations', status: 'ok', detail: `${states.length} applied, none pending` })
      checks.push(await checkWebhookSecrets(ctx))
    }
    return checks
  } catch (error) {
    return [failure('postgres', error, databaseLabel(ctx.config))]
  }
}

/** Webhook signing secrets are sealed at rest (sql/0013); one still in the clear is a warning until `db migrate` seals it. */
async function checkWebhookSecrets(ctx: CoreContext): Promise<DoctorCheck> {
  const plain = await countPlainSecrets(ctx.sql)
  if (plain === 0) return { name: 'webhooks', status: 'ok', detail: 'every webhook signing secret is sealed under the audit key' }
  return {
    name: 'webhooks',
    status: 'warn',
    detail: `${plain} webhook signing secret${plain === 1 ? ' is' : 's are'} stored in the clear (written before sealing at rest)`,
    fix: 'Run `momentry db migrate`, which seals them under the audit key',
  }
}

async function checkRedis(ctx: CoreContext): Promise<DoctorCheck> {
  if (!ctx.config.redisUrl) {
    return {
      name: 'redis',
      status: 'warn',
      detail: 'REDIS_URL is not set: invalidation, lockout counting and live alerts go through PostgreSQL; the multiple_ips detector and the Redis alert channel need Redis',
      fix: 'Set REDIS_URL=redis://127.0.0.1:6379 for those two',
    }
  }
  try {
    const redis = await ctx.redis()
    const info = await redis!.info('server')
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown'
    return { name: 'redis', status: 'ok', detail: `Redis ${version}, key prefix ${ctx.config.redisPrefix}` }
  } catch (error) {
    return failure('redis', error)
  }
}

async function checkKeychain(store: CredentialStore): Promise<DoctorCheck> {
  const probe = await store.probeKeychain()
  if (probe.available) return { name: 'keychain', status: 'ok', detail: 'OS keychain available (service momentry)' }
  if (store.mode === 'file') return { name: 'keychain', status: 'ok', detail: `not used (MOMENTRY_CREDENTIAL_STORE=file); credentials in ${store.file} (0600)` }
  const detail = `no usable OS keychain (${probe.reason})`
  if (store.mode === 'keychain') return { name: 'keychain', status: 'fail', detail, fix: 'Unlock or install a keychain (e.g. gnome-keyring), or unset MOMENTRY_CREDENTIAL_STORE to use the 0600 file' }
  return { name: 'keychain', status: 'warn', detail: `${detail}; credentials fall back to ${store.file} (0600)`, fix: 'Fine for servers and CI; install a Secret Service (e.g. gnome-keyring) to use the keychain' }
}

/**
 * A service nobody logged in to is reported, not failed: most installs use one of the two
 * or neither. Configured credentials that do not work are a failure.
 */
async function checkService(store: CredentialStore, service: Service, timeoutSeconds: number): Promise<DoctorCheck> {
  const label = service === 'gitea' ? 'Gitea' : 'n8n'
  try {
    const cred = await store.resolve(service)
    if (cred.source === 'none' || !cred.username || !cred.password) {
      return { name: service, status: 'warn', detail: `not configured (no credentials; URL ${cred.url})`, fix: `Run \`momentry auth login ${service}\` if you use ${label}` }
    }
    if (service === 'gitea') await checkGiteaLogin({ target: giteaTarget(cred.url, timeoutSeconds), username: cred.username, password: cred.password })
    else await loginN8n(n8nTarget(cred.url, timeoutSeconds), cred.username, cred.password)
    return { name: service, status: 'ok', detail: `${label} at ${cred.url}, logged in as ${cred.username} (credentials from ${cred.source})` }
  } catch (error) {
    return failure(service, error)
  }
}

/**
 * Check every dependency once and say how to fix what fails. Never throws. `config` is the
 * environment as `describeConfig` read it (the core was built from it, so it is valid).
 */
export async function runDoctor(ctx: CoreContext, integrations: { credentials: CredentialStore } | undefined, config: ConfigEntry[]): Promise<DoctorReport> {
  const store = integrations?.credentials
  const timeout = Math.min(ctx.config.httpTimeoutSeconds, 5)
  const [pg, redis, ...rest] = await Promise.all([
    checkPostgres(ctx),
    checkRedis(ctx),
    ...(store ? [checkKeychain(store), checkService(store, 'gitea', timeout), checkService(store, 'n8n', timeout)] : []),
  ])
  const checks = [checkConfig(config), ...(pg as DoctorCheck[]), redis as DoctorCheck, ...(rest as DoctorCheck[])]
  return { mode: ctx.config.databaseUrl ? 'servers' : 'embedded', redis: Boolean(ctx.config.redisUrl), checks, ok: checks.every((c) => c.status !== 'fail'), config }
}
