import { createInterface } from 'node:readline'

import { UsageError } from '../core/errors.js'

/** Ask one question on the terminal (stderr), with a default shown in brackets. */
export async function ask(question: string, fallback?: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true })
  try {
    const answer = await new Promise<string>((resolve) => rl.question(`${question}${fallback ? ` [${fallback}]` : ''}: `, resolve))
    return answer.trim() || fallback || ''
  } finally {
    rl.close()
  }
}

/** Ask for a password on the terminal without echoing it. */
export async function askHidden(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true })
  const output = rl as unknown as { _writeToOutput?: (s: string) => void }
  let prompted = false
  output._writeToOutput = (s: string) => {
    // Print the prompt once, then nothing of what is typed.
    if (!prompted) {
      prompted = true
      process.stderr.write(s)
    }
  }
  try {
    return await new Promise<string>((resolve) => rl.question(`${question}: `, resolve))
  } finally {
    process.stderr.write('\n')
    rl.close()
  }
}

/**
 * A password piped on stdin: only the final line break is removed (a password may begin or
 * end with blanks). At most 4 KiB.
 */
export async function readPasswordFromStdin(hint: string): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    chunks.push(chunk)
    size += chunk.length
    if (size > 4096) {
      process.stdin.destroy()
      throw new UsageError('the password on stdin is longer than 4 KiB', hint)
    }
  }
  const text = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
  if (text === '') throw new UsageError('no password on stdin', hint)
  if (text.includes('\n')) throw new UsageError('the password on stdin has more than one line', hint)
  return text
}
