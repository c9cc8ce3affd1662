import type { Hook } from '@oclif/core'

import { closest } from '../cli/suggest.js'

/** A word that can be part of a command id; anything else (a key, a URL, a path) is never echoed. */
const COMMAND_WORD = /^[A-Za-z0-9][A-Za-z0-9-]{0,39}$/

/**
 * An unknown command is a usage error (exit 2) with one line, naming the closest command or
 * topic when one is near enough to be a typo (`api-key lst` → `api-key list`); never a
 * prompt. Only the words that can be a command are echoed: what follows may be a key
 * pasted as an argument. The exit code is set, not forced with process.exit: nothing is
 * open yet, so the process ends with it at once, and the CLI can also be run inside
 * another process (the tests).
 */
const hook: Hook.CommandNotFound = async function (options) {
  const ids = [...options.config.commandIDs, ...options.config.topics.map((t) => t.name)]
  const depth = Math.max(...ids.map((id) => id.split(':').length))
  const words: string[] = []
  for (const word of options.id.split(':')) {
    if (words.length === depth || !COMMAND_WORD.test(word)) break
    words.push(word)
  }
  // The longest run of typed words that is close to a command wins: `api-key lst` is
  // `api-key list`, not the topic `api-key`.
  let suggestion: string | undefined
  for (let n = words.length; n > 0 && !suggestion; n--) {
    const typed = words.slice(0, n).join(':')
    suggestion = closest(typed, ids.filter((id) => id.split(':').length === n))
  }
  const name = words.length > 0 ? words.join(' ') : '…'
  const line = `no command "${name}"`
  const hint = suggestion ? `Did you mean \`${suggestion.replaceAll(':', ' ')}\`?` : 'Run `momentry --help` to list the commands'
  if (options.argv?.includes('--json')) {
    process.stdout.write(`${JSON.stringify({ error: { code: 'USAGE_ERROR', message: `${line}. ${hint}`, exitCode: 2 } })}\n`)
  } else {
    process.stderr.write(`Error: ${line}. ${hint}\n`)
  }
  process.exitCode = 2
}

export default hook
