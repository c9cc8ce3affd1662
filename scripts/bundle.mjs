// Bundle dist/ with esbuild: one file per command plus shared chunks, so a command loads a
// handful of files instead of hundreds (zod alone is ~100 modules). This is what keeps
// `momentry api-key validate` within its start-time bar. Packages with native parts, their
// own file lookups, or a role as shared singletons (oclif) stay external.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'

import { build } from 'esbuild'

const walk = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : [],
  )

await build({
  entryPoints: [...walk('src/commands'), ...walk('src/hooks'), 'src/index.ts', 'src/embedded-watchdog.ts'],
  outdir: 'dist',
  outbase: 'src',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  jsx: 'automatic',
  external: [
    '@oclif/core',
    '@oclif/plugin-help',
    'postgres',
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
  logLevel: 'warning',
})
