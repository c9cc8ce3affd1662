// Bundle dist/ with esbuild: one file per command plus shared chunks, so a command loads a
// handful of files instead of hundreds (zod alone is ~100 modules). This is what keeps
// `momentry api-key validate` within its start-time bar. oclif and postgres.js are bundled too
// (src/run.ts is the CLI's entry, so commands and oclif share one copy of it): loading them
// from node_modules was about 190 files and a third of that start. Packages with native
// parts, their own file lookups (swagger-ui's assets, plugin-help's manifest) or that load
// only for `serve` and the dashboard stay external.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'

import { build } from 'esbuild'

const walk = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : [],
  )

await build({
  entryPoints: [...walk('src/commands'), ...walk('src/hooks'), 'src/index.ts', 'src/run.ts', 'src/embedded-watchdog.ts'],
  outdir: 'dist',
  outbase: 'src',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  jsx: 'automatic',
  external: [
    '@oclif/plugin-help',
    // oclif's support for running a TypeScript tree; never used from dist (bundled, 10 MB)
    'typescript',
    'ts-node',
    'tsx',
    '@redis/client',
    'rate-limiter-flexible',
    'fastify',
    'prom-client',
    'swagger-ui-dist',
    'cli-table3',
    'undici',
    'ink',
    'react',
    'react/jsx-runtime',
    '@napi-rs/keyring',
  ],
  // oclif is CommonJS: in an ESM bundle its require() of Node's own modules needs a real require.
  banner: { js: "import { createRequire as __momentryRequire } from 'node:module'; const require = __momentryRequire(import.meta.url);" },
  logLevel: 'warning',
})
