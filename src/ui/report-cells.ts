/** RFC 4180 quoting; a leading = + - @ is defused so a spreadsheet never runs a name as a formula. */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe
}

/** Rows of cells as CSV, CRLF line ends (RFC 4180). */
export const csvLines = (rows: string[][]) => rows.map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n'

/** A Markdown table cell: one line, pipes escaped, never empty. */
export const mdCell = (value: string) => value.replace(/[\r\n]+/g, ' ').replaceAll('|', '\\|') || ' '

/** A Markdown table. */
export const mdTable = (head: string[], rows: string[][]) => [
  `| ${head.join(' | ')} |`,
  `| ${head.map(() => '---').join(' | ')} |`,
  ...rows.map((r) => `| ${r.map(mdCell).join(' | ')} |`),
]
