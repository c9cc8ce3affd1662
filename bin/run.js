#!/usr/bin/env node
// oclif checks its own package's `engines` on import, which loads semver and reads its
// package.json: about a tenth of the start of `momentry api-key validate`. Its bar (node >=
// 18) is below the project's own (>= 20.15, which npm warns of at install), so the check can
// never say more: it is turned off, before oclif is imported (hence the dynamic import).
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
await import('../dist/run.js')
