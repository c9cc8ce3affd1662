import { Flags } from '@oclif/core'

import { MomentryCommand } from '../base-command.js'
import { startServer } from '../http/server.js'

interface Result {
  url: string
}

export default class Serve extends MomentryCommand<Result> {
  static override summary = 'Serve the HTTP API: key verification, usage reports, admin, /openapi.json, /docs, /metrics.'
  static override description = `Validation here is answered from memory for a cached key from a clean IP: the blacklist and locked-out IPs are mirrored, and revocations from any other momentry process arrive the moment they commit, over PostgreSQL LISTEN/NOTIFY in every mode (Redis, when configured, counts failed attempts and carries the public alert channel in addition). While the LISTEN connection is down, cached keys are re-read and /readyz answers 503. SIGINT/SIGTERM stop accepting connections, answer every request in flight (with connection: close) within MOMENTRY_HTTP_DRAIN_TIMEOUT (default 10s), and flush usage before exit; a second signal stops waiting.`
  static override examples = [
    '<%= config.bin %> serve',
    '<%= config.bin %> serve --host 0.0.0.0 --port 9090',
    `curl -s localhost:8080/v1/keys/verify -H 'content-type: application/json' -d '{"key":"mtry_svc_…","ip":"203.0.113.7"}'`,
  ]

  static override flags = {
    port: Flags.integer({ summary: 'Port to listen on.', default: 8080, min: 0, max: 65_535 }),
    host: Flags.string({ summary: 'Address to bind (keep it private: verify and usage are unauthenticated).', default: '127.0.0.1' }),
  }

  protected override longRunning = true

  async run(): Promise<Result> {
    const { flags } = await this.parse(Serve)
    const server = await startServer(this.core, { host: flags.host, port: flags.port, version: this.config.version })
    // On stderr even under --json (stdout gets the result at exit): with --port 0 this line
    // is the only way to learn the address.
    process.stderr.write(`momentry serving on ${server.url} (docs at ${server.url}/docs); Ctrl-C to stop\n`)
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve)
      process.once('SIGTERM', resolve)
    })
    this.note('stopping: answering requests in flight, then flushing usage (a second Ctrl-C stops waiting)')
    // A second signal cuts the drain short; usage is flushed all the same.
    const again = () => {
      this.note('stopping now: closing connections with requests still in flight')
      server.forceClose()
    }
    process.once('SIGINT', again)
    process.once('SIGTERM', again)
    try {
      await server.close()
    } finally {
      process.off('SIGINT', again)
      process.off('SIGTERM', again)
    }
    return { url: server.url }
  }
}
