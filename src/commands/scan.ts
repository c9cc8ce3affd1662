import path from 'node:path'

import { Args, Flags } from '@oclif/core'

import { MomentryCommand } from '../base-command.js'
import { tableWidth, wideFlag } from '../cli/table-width.js'
import { driftSessions } from '../cli/integrations.js'
import { writeReportFile } from '../cli/write-report.js'
import { ExitCode, UsageError } from '../core/errors.js'
import { gitleaksConfig } from '../core/scan/gitleaks-rule.js'
import type { InstalledHook } from '../core/scan/hook.js'
import { installHook } from '../core/scan/hook.js'
import type { LeakReport } from '../core/scan/respond.js'
import { scanAndRespond } from '../core/scan/respond.js'
import type { StagedCheck } from '../core/scan/staged.js'
import { checkStaged } from '../core/scan/staged.js'
import type { ScanFormat } from '../ui/scan.js'
import { SCAN_FORMATS, renderScan, renderStagedCheck, scanSummary, withoutSecrets } from '../ui/scan.js'

/** Modes that are not a scan of files, history or stdin: each stands alone. */
const MODES = ['staged', 'install-hook', 'gitleaks-config'] as const
const SCAN_ONLY = ['git', 'all', 'stdin', 'revoke', 'rotate', 'out'] as const
const alone = (mode: (typeof MODES)[number]) => [...MODES.filter((m) => m !== mode), ...SCAN_ONLY]

type ScanResult = LeakReport | StagedCheck | InstalledHook | { config: string }

export default class Scan extends MomentryCommand<ScanResult> {
  static override summary = 'Find leaked momentry keys (and tracked Gitea tokens and n8n keys) in files, git history or stdin, and revoke or rotate the live ones.'
  static override description = `Keys are recognised offline by their typed prefix and CRC32 check (no false positives), then looked up by hash: each finding names the place, the key's id, name, type and status, never the key. Files obey .gitignore; symbolic links, binaries and files over 10 MiB are skipped. --git reads every blob reachable from the current branch (--all: every ref) once, and names the oldest commit that added it.
Gitea tokens and n8n API keys momentry tracks are found by the tail it keeps (last eight / four characters) and the token's shape, and reported only once the service's own verify call accepts them (unconfirmed when it cannot be asked); --revoke deletes them and --rotate replaces them there, through the gitea/n8n commands' core.
Exit status: 0 when no live credential was found, 3 when one was, or a Gitea/n8n one could not be confirmed (so a CI job fails), 2 for bad usage.
--install-hook writes a git pre-commit hook that runs --staged: it refuses a commit adding a live key (offline check first, then the database; a key it cannot look up is refused too). --gitleaks-config prints a gitleaks rule for momentry's key format.`
  static override examples = [
    '<%= config.bin %> scan',
    '<%= config.bin %> scan src config --format json',
    '<%= config.bin %> scan --git --all --format sarif --out momentry.sarif',
    'kubectl logs deploy/api | <%= config.bin %> scan --stdin --revoke',
    '<%= config.bin %> scan --install-hook',
    '<%= config.bin %> scan --staged',
    '<%= config.bin %> scan --gitleaks-config > .gitleaks.toml',
  ]

  static override strict = false
  // ignoreStdin: oclif would otherwise take piped input as the first PATH (and echo it).
  static override args = { path: Args.string({ description: 'Files and directories to scan (default: the working directory); with --git, the repository.', ignoreStdin: true }) }
  static override flags = {
    git: Flags.boolean({ summary: 'Scan the git history of the repository (PATH, default the working directory) instead of its files.' }),
    all: Flags.boolean({ summary: 'With --git: every ref (branches, tags, stashes), not only the current branch.', dependsOn: ['git'] }),
    stdin: Flags.boolean({ summary: 'Scan standard input (logs, a paste).' }),
    revoke: Flags.boolean({ summary: 'Revoke every live key found (delete a confirmed Gitea token or n8n key); the reason names where it was found.', exclusive: ['rotate'] }),
    rotate: Flags.boolean({
      summary: 'Rotate every live key found, revoking it at once; the new keys are printed on stdout as "<new id> <key>" (Gitea/n8n: "gitea:<id> <token>", "n8n:<id> <key>").',
      exclusive: ['revoke'],
    }),
    format: Flags.string({ summary: 'Output format (sarif: SARIF 2.1.0 for code-scanning UIs).', options: [...SCAN_FORMATS], default: 'table' }),
    out: Flags.string({ summary: 'Write the findings to this file instead of stdout.', helpValue: 'FILE' }),
    wide: wideFlag,
    staged: Flags.boolean({ summary: 'Check what the index would commit (what the pre-commit hook runs): exit 3 when it adds a live key.', exclusive: alone('staged') }),
    'install-hook': Flags.boolean({ summary: "Install a git pre-commit hook that runs --staged; never overwrites a hook that is not momentry's.", exclusive: alone('install-hook') }),
    repo: Flags.string({ summary: 'With --install-hook or --staged: the repository (default: the working directory).', helpValue: 'DIR' }),
    'gitleaks-config': Flags.boolean({ summary: "Print a gitleaks rule (TOML) for momentry's key format.", exclusive: alone('gitleaks-config') }),
  }

  async run(): Promise<ScanResult> {
    const { argv, flags } = await this.parse(Scan)
    const paths = argv as string[]
    const mode = MODES.find((m) => flags[m])
    if (flags.repo && mode !== 'staged' && mode !== 'install-hook') throw new UsageError('--repo goes with --install-hook or --staged', 'Give the repository to scan as PATH: `momentry scan --git DIR`')
    if (mode && paths.length > 0) throw new UsageError(`--${mode} takes no PATH`, mode === 'gitleaks-config' ? undefined : 'Give the repository with --repo DIR')
    if (mode && flags.format !== 'table') throw new UsageError(`--format goes with a scan, not --${mode}`, mode === 'staged' ? 'Use --json for the typed result' : undefined)
    // None of these opens the database unless a staged key needs looking up.
    if (mode === 'gitleaks-config') return this.printGitleaksConfig()
    if (mode === 'install-hook') return this.installHook(flags.repo ?? '.')
    if (mode === 'staged') return this.checkStaged(flags.repo ?? '.')
    return this.scan(paths, flags)
  }

  private printGitleaksConfig(): { config: string } {
    const config = gitleaksConfig(this.config.version)
    if (!this.jsonEnabled()) process.stdout.write(config)
    return { config }
  }

  private async installHook(repo: string): Promise<InstalledHook> {
    // This very node and momentry, by absolute path: no PATH lookup, no npx download.
    const hook = await installHook({ repo, command: { node: process.execPath, bin: path.join(this.config.root, 'bin', 'run.js') } })
    const done = { installed: 'Installed', updated: 'Updated', unchanged: 'Already up to date:' }[hook.outcome]
    this.note(
      `${done} the momentry pre-commit hook ${hook.path}. Commits adding a live momentry key are refused; \`git commit --no-verify\` skips it.` +
        (hook.inWorkTree ? ' It is inside the work tree (core.hooksPath) and names this machine\'s paths: do not commit it.' : ''),
    )
    return hook
  }

  private async checkStaged(repo: string): Promise<StagedCheck> {
    const check = await checkStaged(this.ctx, { repo })
    const text = renderStagedCheck(check)
    if (text) this.note(text)
    if (check.blocked > 0) this.setExitCode(ExitCode.KEY_INVALID)
    return check
  }

  private async scan(paths: string[], flags: { git: boolean; all: boolean; stdin: boolean; revoke: boolean; rotate: boolean; format: string; out?: string; wide?: boolean }): Promise<LeakReport> {
    if (flags.git && paths.length > 1) throw new UsageError('--git scans one repository; give at most one PATH', 'Run one scan per repository')
    const git = flags.git ? { repo: paths[0] ?? '.', allRefs: flags.all } : undefined
    const report = await scanAndRespond(
      this.ctx,
      { paths: git ? [] : paths, git, stdin: flags.stdin, cwd: process.cwd() },
      { response: flags.revoke ? 'revoke' : flags.rotate ? 'rotate' : undefined, stdin: process.stdin, sessions: driftSessions(this.ctx) },
    )
    const format = (this.jsonEnabled() ? 'json' : flags.format) as ScanFormat
    // New secrets go to stdout alone ("<new id> <key>", as `rotate --due`), never into --out
    // (a 0644 report file) nor beside the findings; --json keeps them in its one document.
    const newKeys = [...report.rotated.map((r) => `${r.key.id} ${r.secret}`), ...report.rotatedServices.map((r) => `${r.credential}:${r.id} ${r.secret}`)].join('\n')
    const findings = renderScan(withoutSecrets(report), format, { version: this.config.version, width: tableWidth(flags) })
    if (flags.out) await writeReportFile(flags.out, findings)
    else if (!this.jsonEnabled()) process[newKeys ? 'stderr' : 'stdout'].write(`${findings}\n`)
    if (newKeys && !this.jsonEnabled()) this.log(newKeys)
    this.note(scanSummary(report) + (flags.out ? ` Findings written to ${flags.out} (${format}).` : ''))
    if (report.live + report.unconfirmed > 0) this.setExitCode(ExitCode.KEY_INVALID)
    return report
  }
}
