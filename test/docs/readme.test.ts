import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

import { expect } from 'chai'

import { KEY_LENGTH, parseRawKey } from '../../src/core/api-keys/key-format.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const DOCS = ['README.md', 'docs/decisions.md', 'docs/architecture.md', 'docs/integrations.md', 'docs/spec.md']

describe('the README and docs stand on their own', () => {
  for (const doc of DOCS) {
    it(`given ${doc}, then every relative link points at a file of this repository`, () => {
      const text = readFileSync(join(ROOT, doc), 'utf8')
      const links = [...text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/.test(l))
      for (const link of links) {
        const target = resolve(ROOT, dirname(doc), link)
        expect(target.startsWith(ROOT + '/'), `${doc} links outside the repository: ${link}`).to.equal(true)
        expect(existsSync(target), `${doc} links to a missing file: ${link}`).to.equal(true)
      }
      expect(text, `${doc} points outside the repository`).not.to.match(/\.\.\/shared\//)
    })
  }

  it('given the README, then every example key has the real length and checksum', () => {
    const keys = [...readFileSync(join(ROOT, 'README.md'), 'utf8').matchAll(/mtry_[a-z]{3}_[A-Za-z0-9]{20,}/g)].map((m) => m[0])
    expect(keys.length).to.be.greaterThan(0)
    for (const key of keys) {
      expect(key, key).to.have.length(KEY_LENGTH)
      expect(parseRawKey(key), key).to.be.a('string')
    }
  })
})
