import { Flags } from '@oclif/core'

/** `--wide` on the commands whose tables are wider than a usual terminal. */
export const wideFlag = Flags.boolean({ summary: 'Draw every table column in full, however wide the terminal (a terminal gets tables fitted to its width; pipes and files always get every column).' })

/**
 * The width tables are fitted to: the terminal's when stdout is one, unless `--wide` (or
 * `--out` to a file) asked for every column. Undefined for pipes and files, so what a script
 * reads is never shortened and never loses a column.
 */
export function tableWidth(options: { wide?: boolean; out?: string }): number | undefined {
  if (options.wide || options.out || !process.stdout.isTTY) return undefined
  return process.stdout.columns || 80
}
