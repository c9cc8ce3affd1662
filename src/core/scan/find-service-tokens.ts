/** Which service a tracked credential (and so a candidate for it) belongs to. */
export type ServiceCredential = 'gitea' | 'n8n'

/**
 * Text that ends in the tail of a tracked Gitea token or n8n key and has that credential's
 * whole shape. Only a candidate: the service's own verify call says whether it is the token.
 */
export interface ServiceCandidate {
  credential: ServiceCredential
  /** Kept in memory only, for the verify call and the response. */
  raw: string
  /** 1-based line and column (in bytes of the line) of the candidate's first character. */
  line: number
  column: number
}

/** The distinct tails to look for, per service (built once per scan). */
export interface SuffixIndex {
  gitea: { buffers: Buffer[]; set: Set<string> }
  n8n: { buffers: Buffer[]; set: Set<string> }
}

/**
 * Past this many distinct tails of one service, one regular-expression pass over the buffer
 * (then a set lookup of each token's tail) is cheaper than one `indexOf` pass per tail.
 */
export const MANY_SUFFIXES = 16

/** The index of tails, or undefined when nothing is tracked (then no buffer is searched). */
export function suffixIndex(tracked: readonly { credential: ServiceCredential; suffix: string }[]): SuffixIndex | undefined {
  if (tracked.length === 0) return undefined
  const of = (c: ServiceCredential) => {
    const set = new Set(tracked.filter((t) => t.credential === c).map((t) => t.suffix))
    return { set, buffers: [...set].map((s) => Buffer.from(s, 'latin1')) }
  }
  return { gitea: of('gitea'), n8n: of('n8n') }
}

const GITEA_LENGTH = 40
/** Longest n8n key considered (its JWTs are a few hundred characters). */
const N8N_MAX = 4096

const isHexLower = (b: number | undefined) => b !== undefined && ((b >= 48 && b <= 57) || (b >= 97 && b <= 102))
const isBase62 = (b: number | undefined) => b !== undefined && ((b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122))
const isBase64Url = (b: number | undefined) => isBase62(b) || b === 45 || b === 95

/**
 * Where a whole Gitea token ends at `end` starts: exactly 40 lowercase hex characters with no
 * letter or digit on either side (so neither a longer hex string, such as a SHA-256, nor the
 * tail of a word). -1 when the text there is not one.
 */
function giteaStart(bytes: Buffer, end: number): number {
  const start = end - GITEA_LENGTH
  if (start < 0 || isBase62(bytes[end]) || isBase62(bytes[start - 1])) return -1
  for (let i = start; i < end; i++) if (!isHexLower(bytes[i])) return -1
  return start
}

/**
 * Where a whole n8n API key (a JWT: three base64url segments, the header starting `eyJ`)
 * ending at `end` starts; -1 when the text there is not one. A JWT inside a longer dotted
 * run counts from its last three segments.
 */
function n8nStart(bytes: Buffer, end: number): number {
  if (isBase64Url(bytes[end])) return -1
  let start = end
  let dots = 0
  while (start > 0 && end - start < N8N_MAX) {
    const b = bytes[start - 1]
    if (b === 46) {
      if (dots === 2) break
      dots++
    } else if (!isBase64Url(b)) break
    start--
  }
  if (dots !== 2 || bytes[start] !== 101 || bytes[start + 1] !== 121 || bytes[start + 2] !== 74) return -1 // "eyJ"
  // No empty segment: ".." or a dot at either end.
  for (let i = start; i < end - 1; i++) if (bytes[i] === 46 && bytes[i + 1] === 46) return -1
  return bytes[end - 1] === 46 ? -1 : start
}

const SHAPES: Record<ServiceCredential, { start: (bytes: Buffer, end: number) => number; pattern: RegExp; suffixLength: number }> = {
  gitea: { start: giteaStart, pattern: /[0-9a-f]{40}(?![0-9A-Za-z])/g, suffixLength: 8 },
  n8n: { start: n8nStart, pattern: /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g, suffixLength: 4 },
}

/** Ends of text that finish in one of the tails: an `indexOf` pass per tail, or one regex pass when there are many. */
function candidateEnds(bytes: Buffer, credential: ServiceCredential, tails: SuffixIndex[ServiceCredential]): number[] {
  const ends: number[] = []
  if (tails.buffers.length === 0) return ends
  if (tails.buffers.length <= MANY_SUFFIXES) {
    for (const tail of tails.buffers) {
      for (let at = bytes.indexOf(tail); at !== -1; at = bytes.indexOf(tail, at + 1)) ends.push(at + tail.length)
    }
    return ends
  }
  const { pattern, suffixLength } = SHAPES[credential]
  const text = bytes.toString('latin1')
  for (const m of text.matchAll(new RegExp(pattern.source, 'g'))) {
    const end = m.index + m[0].length
    if (tails.set.has(text.slice(end - suffixLength, end))) ends.push(end)
  }
  return ends
}

/**
 * Every whole Gitea token or n8n key in `bytes` whose tail is one momentry tracks. The tails
 * are searched for first (native `indexOf`), and only around a hit is the shape checked, so
 * a buffer without any tail costs one search per tail and nothing more.
 */
export function findServiceTokens(bytes: Buffer, index: SuffixIndex): ServiceCandidate[] {
  const found: { credential: ServiceCredential; start: number; end: number }[] = []
  const seen = new Set<number>()
  for (const credential of ['gitea', 'n8n'] as const) {
    for (const end of candidateEnds(bytes, credential, index[credential])) {
      const start = SHAPES[credential].start(bytes, end)
      if (start === -1 || seen.has(start)) continue
      seen.add(start)
      found.push({ credential, start, end })
    }
  }
  if (found.length === 0) return []
  found.sort((a, b) => a.start - b.start)
  const candidates: ServiceCandidate[] = []
  let line = 1
  let lineStart = 0
  let counted = 0
  for (const f of found) {
    for (let i = bytes.indexOf(10, counted); i !== -1 && i < f.start; i = bytes.indexOf(10, i + 1)) {
      line++
      lineStart = i + 1
    }
    counted = f.start
    candidates.push({ credential: f.credential, raw: bytes.toString('latin1', f.start, f.end), line, column: f.start - lineStart + 1 })
  }
  return candidates
}

/**
 * What a finding shows of a Gitea token or n8n key: its first four characters. Never its
 * tail: `gitea list` and `n8n list` show the last eight / four, and the two together would
 * say more of the secret than either.
 */
export function serviceStub(raw: string): string {
  return raw.slice(0, 4)
}
