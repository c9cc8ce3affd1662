import type { ActedFinding, LeakReport } from '../core/scan/respond.js'

/** The rules a finding can break, by what the credential is now. */
const RULES = [
  { id: 'momentry/live-key', level: 'error', text: 'A live momentry API key is in the scanned content: anyone who reads it can use it.' },
  { id: 'momentry/dead-key', level: 'note', text: 'A momentry API key that no longer validates (revoked, disabled or expired) is in the scanned content.' },
  { id: 'momentry/unknown-key', level: 'warning', text: 'A well-formed momentry API key that this database does not know (another installation\'s, or purged).' },
  { id: 'momentry/live-gitea-token', level: 'error', text: 'A Gitea personal access token momentry tracks, confirmed live by Gitea, is in the scanned content.' },
  { id: 'momentry/unconfirmed-gitea-token', level: 'error', text: 'Text with the shape and tail of a Gitea token momentry tracks is in the scanned content; Gitea could not be asked whether it is the token.' },
  { id: 'momentry/live-n8n-key', level: 'error', text: 'An n8n API key momentry tracks, confirmed live by n8n, is in the scanned content.' },
  { id: 'momentry/unconfirmed-n8n-key', level: 'error', text: 'Text with the shape and tail of an n8n API key momentry tracks is in the scanned content; n8n could not be asked whether it is the key.' },
] as const

function ruleOf(f: ActedFinding): (typeof RULES)[number] {
  if (f.credential === 'gitea') return f.live ? RULES[3] : RULES[4]
  if (f.credential === 'n8n') return f.live ? RULES[5] : RULES[6]
  if (f.status === 'unknown') return RULES[2]
  return f.live ? RULES[0] : RULES[1]
}

function describe(f: ActedFinding): string {
  if (f.credential === 'momentry') {
    const what = f.keyId ? `${f.keyId} (${f.name}, ${f.type}, ${f.status})` : `an unknown ${f.type} key`
    return `momentry key ${f.stub}… is ${what}.`
  }
  const service = f.credential === 'gitea' ? 'Gitea' : 'n8n'
  const whose = f.user ? `, ${f.user}` : ''
  const verdict = f.live ? `confirmed live by ${service}` : `not confirmed: ${service} could not be asked (${f.reason})`
  return `${service} ${f.credential === 'gitea' ? 'token' : 'API key'} ${f.stub}… is the tracked ${f.keyId} (${f.name}${whose}) at ${f.url}, ${verdict}.`
}

/** A finding as a SARIF result: the file and line, the credential's id and stub, never the secret. */
function result(f: ActedFinding) {
  const rule = ruleOf(f)
  const done = f.action === 'revoked' || f.action === 'rotated' || f.action === 'deleted' ? ` It was ${f.action} by this scan.` : ''
  return {
    ruleId: rule.id,
    ruleIndex: RULES.indexOf(rule),
    level: rule.level,
    message: { text: `${describe(f)}${done}${f.location.commit ? ` Added in commit ${f.location.commit}.` : ''}` },
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri: f.location.path ? encodeURI(f.location.path) : 'stdin' },
          region: { startLine: f.location.line, startColumn: f.location.column },
        },
      },
    ],
    partialFingerprints: { momentryKey: f.credential === 'momentry' ? (f.keyId ?? f.stub) : `${f.credential}:${f.url}:${f.keyId}` },
    properties: {
      credential: f.credential,
      keyId: f.keyId,
      stub: f.stub,
      status: f.status,
      action: f.action,
      commit: f.location.commit,
      ...(f.credential === 'momentry' ? {} : { url: f.url, user: f.user }),
    },
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
