import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { ConfigError } from './errors.js'

/**
 * momentry's package directory: the first directory up from this module that holds
 * `sql/0001_init.sql`, so it is found from `src/core` (tsx) and from a bundled `dist/` chunk alike.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    if (existsSync(join(dir, 'sql', '0001_init.sql'))) return dir
    const parent = dirname(dir)
    if (parent === dir) throw new ConfigError('cannot find the sql/ migrations next to momentry', 'Reinstall momentry')
    dir = parent
  }
}
