// The CLI's entry (bin/run.js imports the bundle of this file): oclif is bundled with the
// commands, so a command loads a few files rather than oclif's hundred-odd modules and their
// package lookups.
import { execute } from '@oclif/core'

await execute({ dir: import.meta.url })
