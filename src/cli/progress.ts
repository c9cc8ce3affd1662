import { ux } from '@oclif/core'

/**
 * Run slow network work (Gitea, n8n, a webhook receiver) behind oclif's spinner on stderr, so
 * a service that never answers does not look like a hung command for the whole timeout. For
 * people only: nothing at all when stderr is not a terminal, or under --json (`quiet`), so
 * scripts and logs see exactly the output they saw before.
 */
export async function withProgress<T>(label: string, work: () => Promise<T>, options: { quiet?: boolean } = {}): Promise<T> {
  if (options.quiet || !process.stderr.isTTY) return work()
  ux.action.start(label)
  try {
    const result = await work()
    ux.action.stop()
    return result
  } catch (error) {
    ux.action.stop('failed')
    throw error
  }
}

