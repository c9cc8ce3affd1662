/**
 * Shorten and de-fang user input before echoing it in an error line: control characters
 * become `?` (no terminal escapes, no forged extra lines), and long input is cut.
 */
export function printable(input: string, max = 40): string {
  // eslint-disable-next-line no-control-regex
  const clean = input.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?')
  return clean.length > max ? `${clean.slice(0, max)}…` : clean
}
