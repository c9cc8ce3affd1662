export interface Logger {
  debug(message: string): void
  info(message: string): void
  warn(message: string): void
  error(message: string): void
}

/** A logger that writes one line per message to stderr; debug only when asked. */
export function createStderrLogger(options: { debug?: boolean } = {}): Logger {
  const write = (level: string, message: string) => process.stderr.write(`momentry ${level}: ${message}\n`)
  return {
    debug: (m) => options.debug && write('debug', m),
    info: (m) => write('info', m),
    warn: (m) => write('warn', m),
    error: (m) => write('error', m),
  }
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} }
