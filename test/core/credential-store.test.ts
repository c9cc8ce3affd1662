import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { expect } from 'chai'

import { loadConfig } from '../../src/core/config.js'
import { CredentialStore } from '../../src/core/credentials/credential-store.js'
import type { KeyringBackend } from '../../src/core/credentials/keyring.js'
import { keychainReason, memoryKeyring } from '../../src/core/credentials/keyring.js'
import { UsageError } from '../../src/core/errors.js'
import type { Logger } from '../../src/core/log.js'

const BACKTRACE = "Couldn't access platform storage: AccessDenied\nStack backtrace:\n   0: keyring::error::Error::from\n   1: napi::bindgen_runtime"

function failingKeyring(): KeyringBackend {
  const fail = async () => {
    throw new Error(BACKTRACE)
  }
  return { get: async () => null, set: fail, delete: fail }
}

function recordingLog(): Logger & { lines: string[] } {
  const lines: string[] = []
  return { lines, debug: () => {}, info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) }
}

describe('credential store', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'momentry-cred-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  const config = (env: Record<string, string> = {}) => loadConfig({ HOME: '/home/t', MOMENTRY_DATA_DIR: join(dir, 'data'), ...env })
  const cred = { url: 'https://git.example/', username: 'admin', password: 'pa ss:wörd ' }

  it('given a working keychain, when credentials are saved, resolved and removed, then they round-trip through the keychain and no file is written', async () => {
    const keyring = memoryKeyring()
    const store = new CredentialStore({ config: config(), keyring, log: recordingLog() })
    expect(await store.save('gitea', cred)).to.deep.equal({ store: 'keychain' })
    expect([...keyring.entries.keys()]).to.deep.equal(['gitea'])
    const r = await store.resolve('gitea')
    expect(r).to.deep.include({ source: 'keychain', username: 'admin', password: 'pa ss:wörd ', url: 'https://git.example', urlSource: 'stored' })
    expect(() => statSync(store.file)).to.throw()
    expect(await store.remove('gitea')).to.deep.equal(['keychain'])
    expect((await store.resolve('gitea')).source).to.equal('none')
  })

  it('given a keychain that refuses access, when credentials are saved twice, then they go to a 0600 file in a 0700 dir and the fallback is said once, without the backtrace', async () => {
    const log = recordingLog()
    const store = new CredentialStore({ config: config(), keyring: failingKeyring(), log })
    const saved = await store.save('gitea', cred)
    await store.save('n8n', { url: 'http://n8n.local:5678', username: 'owner@example.com', password: 'Owner-pw1' })
    expect(saved).to.deep.equal({ store: 'file', file: join(dir, 'data', 'credentials.json'), keychainError: "Couldn't access platform storage: AccessDenied" })
    expect(log.lines).to.have.length(1)
    expect(log.lines[0]).to.match(/no usable OS keychain \(Couldn't access platform storage: AccessDenied\); storing credentials in .*credentials.json \(mode 0600\)/)
    expect(log.lines[0]).not.to.match(/backtrace|napi/i)
    expect(statSync(store.file).mode & 0o777).to.equal(0o600)
    expect(statSync(join(dir, 'data')).mode & 0o777).to.equal(0o700)
    expect((await store.resolve('gitea')).source).to.equal('file')
    expect((await store.resolve('n8n')).username).to.equal('owner@example.com')
    expect(await store.remove('gitea')).to.deep.equal(['file'])
    expect(JSON.parse(await readFile(store.file, 'utf8'))).to.have.keys(['n8n'])
    await store.remove('n8n')
    expect(() => statSync(store.file)).to.throw() // nothing left: no file
  })

  it('given MOMENTRY_CREDENTIAL_STORE=file, then the keychain is never touched; =keychain with no keychain is a config error', async () => {
    const keyring = memoryKeyring()
    const fileStore = new CredentialStore({ config: config({ MOMENTRY_CREDENTIAL_STORE: 'file' }), keyring, log: recordingLog() })
    expect((await fileStore.save('gitea', cred)).store).to.equal('file')
    expect(keyring.entries.size).to.equal(0)
    const strict = new CredentialStore({ config: config({ MOMENTRY_CREDENTIAL_STORE: 'keychain' }), keyring: failingKeyring(), log: recordingLog() })
    try {
      await strict.save('gitea', cred)
      expect.fail('should throw')
    } catch (error) {
      expect((error as { exitCode: number }).exitCode).to.equal(8)
      expect((error as Error).message).not.to.match(/backtrace/i)
    }
  })

  it('given env credentials and GITEA_URL, then they win over stored ones; only one of the pair set is a config error', async () => {
    const store = new CredentialStore({ config: config({ GITEA_URL: 'https://env.example', GITEA_USERNAME: 'ci', GITEA_PASSWORD: 'ci-pw' }), keyring: memoryKeyring(), log: recordingLog() })
    await store.save('gitea', cred)
    expect(await store.resolve('gitea')).to.deep.include({ source: 'env', username: 'ci', password: 'ci-pw', url: 'https://env.example', urlSource: 'env' })
    const half = new CredentialStore({ config: config({ GITEA_USERNAME: 'ci' }), keyring: memoryKeyring(), log: recordingLog() })
    try {
      await half.resolve('gitea')
      expect.fail('should throw')
    } catch (error) {
      expect((error as Error).message).to.equal('GITEA_USERNAME is set but GITEA_PASSWORD is not')
    }
  })

  it('given a Rust error with a backtrace, then only its first line is kept', () => {
    expect(keychainReason(new Error(BACKTRACE))).to.equal("Couldn't access platform storage: AccessDenied")
  })

  describe('generic secrets', () => {
    const SECRET = 'mtry_svc_not-a-real-key-but-a-secret'

    it('given a working keychain, when a secret is set, listed and deleted, then it lives in the keychain, the list has names and places only, and nothing is left', async () => {
      const keyring = memoryKeyring()
      const store = new CredentialStore({ config: config(), keyring, log: recordingLog() })
      await store.save('gitea', cred)
      expect(await store.setSecret('api-key/billing', SECRET)).to.deep.equal({ store: 'keychain' })
      expect(await store.getSecret('api-key/billing')).to.deep.equal({ value: SECRET, source: 'keychain' })
      const listed = await store.listAccounts()
      expect(listed).to.deep.equal([
        { account: 'api-key/billing', source: 'keychain' },
        { account: 'gitea', source: 'keychain' },
      ])
      expect(JSON.stringify(listed)).not.to.include(SECRET)
      expect(await store.deleteSecret('api-key/billing')).to.deep.equal(['keychain'])
      expect(await store.getSecret('api-key/billing')).to.equal(undefined)
      expect([...keyring.entries.keys()]).to.deep.equal(['gitea'])
    })

    it('given the file store, when a secret and service credentials are set, then the file keeps the credentials as objects and the secret as a string', async () => {
      const store = new CredentialStore({ config: config({ MOMENTRY_CREDENTIAL_STORE: 'file' }), keyring: memoryKeyring(), log: recordingLog() })
      await store.save('n8n', { url: 'http://n8n.local:5678', username: 'owner@example.com', password: 'Owner-pw1' })
      expect(await store.setSecret('api-key/ci', SECRET)).to.deep.equal({ store: 'file', file: store.file, keychainError: undefined })
      expect(JSON.parse(await readFile(store.file, 'utf8'))).to.deep.equal({
        n8n: { url: 'http://n8n.local:5678', username: 'owner@example.com', password: 'Owner-pw1' },
        'api-key/ci': SECRET,
      })
      expect(statSync(store.file).mode & 0o777).to.equal(0o600)
      expect(await store.listAccounts()).to.deep.equal([
        { account: 'api-key/ci', source: 'file' },
        { account: 'n8n', source: 'file' },
      ])
      expect((await store.resolve('n8n')).password).to.equal('Owner-pw1')
    })

    it('given a credential file written before generic secrets existed, then its credentials still resolve and list', async () => {
      mkdirSync(join(dir, 'data'), { recursive: true, mode: 0o700 })
      writeFileSync(join(dir, 'data', 'credentials.json'), JSON.stringify({ gitea: { url: 'https://git.example', username: 'admin', password: 'pw' } }), { mode: 0o600 })
      const store = new CredentialStore({ config: config({ MOMENTRY_CREDENTIAL_STORE: 'file' }), keyring: memoryKeyring(), log: recordingLog() })
      expect(await store.resolve('gitea')).to.deep.include({ source: 'file', username: 'admin', password: 'pw' })
      expect(await store.listAccounts()).to.deep.equal([{ account: 'gitea', source: 'file' }])
    })

    it('given a reserved or empty account name, when set, then it is a usage error and nothing is stored', async () => {
      const keyring = memoryKeyring()
      const store = new CredentialStore({ config: config(), keyring, log: recordingLog() })
      for (const account of ['momentry-index', 'momentry-probe', '', 'a\nb']) {
        const error = await store.setSecret(account, SECRET).catch((e: unknown) => e)
        expect(error, account).to.be.instanceOf(UsageError)
      }
      expect(keyring.entries.size).to.equal(0)
    })
  })
})
