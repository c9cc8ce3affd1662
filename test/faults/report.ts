// What the fault tests measured, printed with the test's output (the figures the README's
// bounds come from), and the wait for a serve instance to say it is ready again.
import { appendFileSync } from 'node:fs'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** One line of figures per scenario on stdout; also appended to MOMENTRY_FAULTS_REPORT when set (a file to collect them in). */
export function note(scenario: string, figures: Record<string, unknown>): void {
  const line = `    faults: ${scenario}: ${JSON.stringify(figures)}`
  console.log(line)
  if (process.env.MOMENTRY_FAULTS_REPORT) appendFileSync(process.env.MOMENTRY_FAULTS_REPORT, `${line.trim()}\n`)
}

/** Milliseconds until serve's /readyz answers 200 (polled every 20 ms); Infinity past `withinMs`. */
export async function untilReady(url: string, withinMs: number): Promise<number> {
  const t0 = performance.now()
  while (performance.now() - t0 < withinMs) {
    const status = await fetch(`${url}/readyz`).then(
      (r) => r.status,
      () => 0,
    )
    if (status === 200) return performance.now() - t0
    await sleep(20)
  }
  return Infinity
}
