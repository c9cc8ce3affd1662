import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'

/**
 * Swagger UI from swagger-ui-dist, pointed at /openapi.json; only these files are served, by
 * their content type. A Map, not an object literal: the name comes from the URL, and
 * `/docs/constructor` or `/docs/__proto__` must find nothing rather than Object's own members.
 */
export const DOCS_FILES: ReadonlyMap<string, string> = new Map([
  ['swagger-ui.css', 'text/css; charset=utf-8'],
  ['swagger-ui-bundle.js', 'application/javascript; charset=utf-8'],
  ['swagger-ui-standalone-preset.js', 'application/javascript; charset=utf-8'],
])

export const DOCS_HTML = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>momentry API</title><link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-ui-standalone-preset.js"></script>
<script>window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: 'StandaloneLayout' })</script>
</body></html>`

export async function readDocsFile(name: string): Promise<Buffer> {
  const require = createRequire(import.meta.url)
  const dir = (require('swagger-ui-dist') as { getAbsoluteFSPath(): string }).getAbsoluteFSPath()
  return readFile(join(dir, name))
}
