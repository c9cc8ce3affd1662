import { KEY_LENGTH, TYPE_CODES } from '../api-keys/key-format.js'

/** `mtry_` + a type code + `_`, before the body and checksum. */
const HEAD_LENGTH = 'mtry_xxx_'.length

/**
 * momentry's key format as an RE2 (Go) regular expression, which is also a JavaScript one:
 * the typed prefix and exactly the body and checksum characters, not glued to more base62 on
 * either side (RE2 has no lookaround, so the boundaries are matched and the key is group 1,
 * gitleaks' `secretGroup`). A regular expression cannot check the CRC32: `momentry scan`
 * and `POST /v1/leaks` do, so a gitleaks finding is confirmed there.
 */
export function gitleaksRegex(): string {
  const types = Object.values(TYPE_CODES).join('|')
  return `(?:^|[^0-9A-Za-z])(mtry_(?:${types})_[0-9A-Za-z]{${KEY_LENGTH - HEAD_LENGTH}})(?:[^0-9A-Za-z]|$)`
}

/**
 * A gitleaks configuration (TOML) with one rule for momentry keys that keeps gitleaks' own
 * rules (`[extend] useDefault`): save it as `.gitleaks.toml`, or copy the `[[rules]]` table
 * into a configuration of your own.
 */
export function gitleaksConfig(version: string): string {
  return [
    `# gitleaks rule for momentry API keys (momentry ${version}: \`momentry scan --gitleaks-config\`).`,
    '# Save as .gitleaks.toml (gitleaks keeps its own rules), or copy the [[rules]] table into yours.',
    '# A match has the format, not yet the checksum: confirm and revoke with `momentry scan` or POST /v1/leaks.',
    '',
    '[extend]',
    'useDefault = true',
    '',
    '[[rules]]',
    'id = "momentry-api-key"',
    'description = "momentry API key (mtry_<sys|usr|svc|int|emg>_ + 43 base62 characters of secret + a 6-character CRC32)"',
    `regex = '''${gitleaksRegex()}'''`,
    'secretGroup = 1',
    'keywords = ["mtry_"]',
    'tags = ["momentry", "api-key"]',
    '',
  ].join('\n')
}
