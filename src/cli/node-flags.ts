import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { packageRoot } from './package-root.ts'

/** ferry's entry point (the launcher: it runs the sources in a clone, dist/ when installed) */
export const FERRY_BIN = join(packageRoot(), 'src/cli/ferry.js')

/**
 * The Node flags of ferry's shebang (`#!/usr/bin/env -S node <flags>`): whoever spawns ferry with
 * `process.execPath` (tests, bench, demo) passes them, so daemons run as an installed ferry does.
 */
export const FERRY_NODE_FLAGS: readonly string[] = readFileSync(FERRY_BIN, 'utf8').split('\n', 1)[0]!.split(/\s+/).slice(3)
