/** Text or an attribute value for HTML and SVG: every character that could open markup or end a quoted attribute. */
export function escapeXml(value: string | number): string {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c]!)
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/**
 * JSON for `<script type="application/json">`: `<`, `>` and `&` as \u escapes, so no value (a
 * key named `</script><script>…`) can end the element or open a comment; U+2028/2029 too, so the
 * text is also valid JavaScript should anyone paste it. `JSON.parse` reads it back unchanged.
 */
export function inertJson(data: unknown): string {
  return JSON.stringify(data).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** At most `max` characters, the cut marked with an ellipsis (labels on an axis; the full text is in the mark's title and the table). */
export function clip(value: string, max: number): string {
  const chars = [...value]
  return chars.length <= max ? value : `${chars.slice(0, max - 1).join('')}…`
}
