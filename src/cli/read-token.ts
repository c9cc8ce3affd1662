import { UsageError } from '../core/errors.js'
import { readSecretFromStdin } from './read-secret.js'

/**
 * A token to check, from stdin or the variable named by --token-env; a positional token
 * works but warns (argv is visible in ps and shell history). As `api-key validate` does.
 */
export async function readToken(positional: string | undefined, envName: string | undefined, how: string): Promise<string> {
  if (positional !== undefined && envName) throw new UsageError('give the token one way: positional or --token-env, not both', how)
  if (positional !== undefined) {
    process.stderr.write('momentry warn: a token on the command line is visible in ps and shell history; pipe it on stdin instead\n')
    return positional.trim()
  }
  if (envName) {
    const value = process.env[envName]
    if (value === undefined || value.trim() === '') throw new UsageError(`--token-env: ${envName} is not set or empty`, how)
    return value.trim()
  }
  const input = await readSecretFromStdin('token', how)
  if (input.oversize) throw new UsageError('the input on stdin is longer than 4 KiB, so it is not a token', how)
  return input.text
}
