import { Command } from '@oclif/core'

import { toMomentryError } from './cli/errors.js'
import type { CoreContext } from './core/context.js'
import { databaseLabel } from './core/db/connect.js'
import type { EffectName } from './core/effects.js'
import { ONE_SHOT_EFFECTS } from './core/effects.js'
import type { ExitCodeValue } from './core/errors.js'
import type { Logger } from './core/log.js'
import { createStderrLogger } from './core/log.js'
import type { Core } from './core/open-core.js'
import { openCore } from './core/open-core.js'

/**
 * The one base class: `--json` on every command, a lazily built core (context, connections,
 * side effects) that is closed on exit, and every error mapped to one line and its SPEC §12
 * exit code (also under `--json`, as `{"error":{code,message,exitCode}}`).
 */
export abstract class MomentryCommand<T> extends Command {
  static override enableJsonFlag = true
  /** Core input fields that this command fills from a flag of another name, for error lines (`metadata: '--meta'`). */
  static inputNames?: Record<string, string>
  private opened?: Core
  /** Commands that keep running (serve, watch) set this: Redis then reconnects after a drop. */
  protected longRunning = false
  /** Where core log lines go; stderr unless a command draws the screen itself (watch). */
  protected logger?: Logger
  /** The reactions this command's work needs; long-running commands start services on `core`. */
  protected effects: readonly EffectName[] = ONE_SHOT_EFFECTS

  /** The core; built on first use so commands that need nothing pay nothing. */
  protected get core(): Core {
    this.opened ??= openCore({
      env: process.env,
      longRunning: this.longRunning,
      log: this.logger ?? createStderrLogger({ debug: Boolean(process.env.MOMENTRY_DEBUG) }),
      effects: this.effects,
    })
    return this.opened
  }

  protected get ctx(): CoreContext {
    return this.core.ctx
  }

  /** Print the human rendering unless `--json` asked for the return value instead. */
  protected render(result: T, toText: (r: T) => string): void {
    if (!this.jsonEnabled()) {
      const text = toText(result)
      if (text) this.log(text)
    }
  }

  /**
   * A secret that exists only now: alone on stdout (so `> file` captures exactly it), the
   * summary and the "shown once" warning on stderr; under `--json`, only the result.
   */
  protected renderSecret(result: T, out: { stdout: string; stderr: string }): void {
    this.render(result, () => out.stdout)
    this.note(out.stderr)
  }

  /** A line for people, on stderr, silent under --json. */
  protected note(line: string): void {
    if (!this.jsonEnabled()) process.stderr.write(`${line}\n`)
  }

  protected setExitCode(code: ExitCodeValue): void {
    process.exitCode = code
  }

  protected override async catch(error: Error & { exitCode?: number }): Promise<void> {
    const ctor = this.ctor as typeof this.ctor & { inputNames?: Record<string, string> }
    const command = { argv: this.argv, flags: { ...ctor.flags, ...ctor.baseFlags }, args: ctor.args, inputNames: ctor.inputNames }
    const e = toMomentryError(error, this.id, this.opened && databaseLabel(this.opened.config), command)
    process.exitCode = e.exitCode
    if (this.jsonEnabled()) {
      this.logJson({ error: { code: e.code, message: e.line, exitCode: e.exitCode, ...(e.status ? { status: e.status } : {}) } })
    } else {
      process.stderr.write(`Error: ${e.line}\n`)
    }
    if (process.env.MOMENTRY_DEBUG && e.cause instanceof Error) process.stderr.write(`${e.cause.stack}\n`)
  }

  protected override async finally(error: Error | undefined): Promise<void> {
    try {
      await this.opened?.close()
    } catch (closeError) {
      if (process.env.MOMENTRY_DEBUG) process.stderr.write(`momentry debug: closing connections: ${String(closeError)}\n`)
    }
    await super.finally(error)
  }
}
