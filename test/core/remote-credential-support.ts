// Shared by the Gitea token and n8n key service tests: ways to make the real database or
// the contract fake fail at one precise step, and the checks both suites make.
import { expect } from 'chai'

import type { Sql } from '../../src/core/db/connect.js'
import { MomentryError } from '../../src/core/errors.js'
import type { Logger } from '../../src/core/log.js'
import type { FakeServer } from '../helpers/fake-http.js'

export async function rejectionOf(promise: Promise<unknown>): Promise<MomentryError> {
  try {
    await promise
  } catch (error) {
    expect(error).to.be.instanceOf(MomentryError)
    return error as MomentryError
  }
  return expect.fail('expected a rejection')
}

/**
 * Make PostgreSQL itself refuse every insert into `table` (a trigger that raises), so the
 * recording step fails for real. Returns the undo; call it even when the test fails.
 */
export async function refuseInsertsInto(sql: Sql, table: 'gitea_tokens' | 'n8n_api_keys'): Promise<() => Promise<void>> {
  await sql.unsafe(`create or replace function momentry_test_refuse_insert() returns trigger language plpgsql as $$
    begin raise exception 'insert refused by the test'; end $$`)
  await sql.unsafe(`create trigger momentry_test_refuse before insert on ${table} for each row execute function momentry_test_refuse_insert()`)
  return async () => {
    await sql.unsafe(`drop trigger if exists momentry_test_refuse on ${table}`)
  }
}

/** Make the fake answer 500 from its `nth` request from now on (the earlier ones are served). */
export function failFromRequest(fake: FakeServer, nth: number): void {
  const start = fake.seen.length
  // The fake records a request before it reads its fault switch, so the count includes it.
  Object.defineProperty(fake, 'fault', { configurable: true, get: () => (fake.seen.length - start >= nth ? '500' : 'none'), set: () => {} })
}

/** Resolves once some session of this test database holds an advisory lock (a rotation is under way). */
export async function advisoryLockHeld(sql: Sql): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const [row] = await sql`select count(*)::int as n from pg_locks
      where locktype = 'advisory' and granted and database = (select oid from pg_database where datname = current_database())`
    if (row!.n > 0) return
    await new Promise((r) => setTimeout(r, 10))
  }
  expect.fail('no rotation took its lock within 5 s')
}

export function capturingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = []
  return { warnings, debug() {}, info() {}, warn: (m) => void warnings.push(m), error() {} }
}

/** Neither the secret nor its tail (the part listings show) appears anywhere in `value`. */
export function expectNoPartOf(secret: string, tailLength: number, value: unknown): void {
  const text = JSON.stringify(value)
  expect(text).not.to.include(secret)
  expect(text).not.to.include(secret.slice(-tailLength))
}
