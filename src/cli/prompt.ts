import { createInterface } from 'node:readline'

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
