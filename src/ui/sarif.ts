import type { ActedFinding, LeakReport } from '../core/scan/respond.js'

/** The rules a finding can break, by what the key is now. */
const RULES = [
  { id: 'momentry/live-key', level: 'error', text: 'A live momentry API key is in the scanned content: anyone who reads it can use it.' },
  { id: 'momentry/dead-key', level: 'note', text: 'A momentry API key that no longer validates (revoked, disabled or expired) is in the scanned content.' },
  { id: 'momentry/unknown-key', level: 'warning', text: 'A well-formed momentry API key that this database does not know (another installation\'s, or purged).' },
] as const

function ruleOf(f: ActedFinding): (typeof RULES)[number] {
  if (f.status === 'unknown') return RULES[2]
  return f.live ? RULES[0] : RULES[1]
}

/** A finding as a SARIF result: the file and line, the key's id and stub, never the key. */
function result(f: ActedFinding) {
  const rule = ruleOf(f)
  const what = f.keyId ? `${f.keyId} (${f.name}, ${f.type}, ${f.status})` : `an unknown ${f.type} key`
  const done = f.action === 'revoked' || f.action === 'rotated' ? ` It was ${f.action} by this scan.` : ''
  return {
    ruleId: rule.id,
    ruleIndex: RULES.indexOf(rule),
    level: rule.level,
    message: { text: `momentry key ${f.stub}… is ${what}.${done}${f.location.commit ? ` Added in commit ${f.location.commit}.` : ''}` },
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri: f.location.path ? encodeURI(f.location.path) : 'stdin' },
          region: { startLine: f.location.line, startColumn: f.location.column },
        },
      },
    ],
    partialFingerprints: { momentryKey: f.keyId ?? f.stub },
    properties: { keyId: f.keyId, stub: f.stub, status: f.status, action: f.action, commit: f.location.commit },
  }
}

/** SARIF 2.1.0, for code-scanning UIs. */
export function renderSarif(r: Pick<LeakReport, 'items'>, version: string): string {
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'momentry',
            version,
            rules: RULES.map((rule) => ({
              id: rule.id,
              shortDescription: { text: rule.text },
              defaultConfiguration: { level: rule.level },
            })),
          },
        },
        results: r.items.map(result),
      },
    ],
  }
  return JSON.stringify(log, null, 2)
}
