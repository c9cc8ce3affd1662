import { expect } from 'chai'

import type { CliResult } from './cli.js'

/** Bad input gets one clear line on stderr — never a stack trace — and the documented exit code. */
export function expectOneLineError(r: CliResult, exitCode: number, pattern?: RegExp): void {
  expect(r.code, `exit code; stderr: ${r.stderr}`).to.equal(exitCode)
  const lines = r.stderr.trim().split('\n').filter(Boolean)
  expect(lines, r.stderr).to.have.length(1)
  expect(lines[0]).to.match(/^Error: /)
  expect(r.stderr).not.to.match(/\n\s+at /)
  if (pattern) expect(lines[0]).to.match(pattern)
}

/** The --json error contract: {"error":{code,message,exitCode}} with the same exit code. */
export function expectJsonError(r: CliResult, exitCode: number, code?: string): void {
  expect(r.code, `exit code; stdout: ${r.stdout} stderr: ${r.stderr}`).to.equal(exitCode)
  expect(r.json, r.stdout).to.have.property('error')
  expect(r.json.error.exitCode).to.equal(exitCode)
  expect(r.json.error.message).to.be.a('string').and.not.include('\n')
  if (code) expect(r.json.error.code).to.equal(code)
}
