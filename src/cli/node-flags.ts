import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/** ferry's entry point */
export const FERRY_BIN = join(import.meta.dirname, 'ferry.js')

const SHEBANG_ARGS = readFileSync(FERRY_BIN, 'utf8').split('\n', 1)[0]!.split(/\s+/).slice(2) // after `#!/usr/bin/env -S`

/**
 * The Node flags of ferry's shebang (`#!/usr/bin/env -S [NAME=value ...] node <flags>`): whoever
 * spawns ferry with `process.execPath` (tests, bench, demo) passes them, and FERRY_NODE_ENV in
 * the environment, so daemons run as an installed ferry does.
 */
export const FERRY_NODE_FLAGS: readonly string[] = SHEBANG_ARGS.slice(SHEBANG_ARGS.indexOf('node') + 1)

/** the environment variables the shebang sets (NAME=value before `node`) */
export const FERRY_NODE_ENV: Readonly<Record<string, string>> = Object.fromEntries(
  SHEBANG_ARGS.slice(0, SHEBANG_ARGS.indexOf('node')).map(a => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)])
)
