import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

import AjvDraft04 from 'ajv-draft-04'
import addFormatsModule from 'ajv-formats'

/** A validator of the SARIF 2.1.0 schema as published by OASIS (shipped in @microsoft/jest-sarif). */
export function sarifValidator() {
  const require = createRequire(import.meta.url)
  const schema = JSON.parse(readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8'))
  // Both packages are CommonJS with a default export that TypeScript sees one level down.
  const Ajv = AjvDraft04 as unknown as typeof AjvDraft04.default
  const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default
  // The published schema's language-tag pattern is not valid under the `u` flag.
  const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false })
  addFormats(ajv)
  return ajv.compile(schema)
}
