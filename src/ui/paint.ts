const CODES = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, gray: 90, bold: 1 } as const
export type Colour = keyof typeof CODES

/** Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function colourEnabled(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb'
}

export function paint(colour: Colour, text: string, stream: NodeJS.WriteStream = process.stdout): string {
  return colourEnabled(stream) ? `\u001b[${CODES[colour]}m${text}\u001b[0m` : text
}
