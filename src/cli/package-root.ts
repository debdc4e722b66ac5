import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

/**
 * The directory holding ferry's package.json: the clone's root when the TypeScript sources run,
 * the installed package's root when the compiled JavaScript (dist/) runs. Found by walking up
 * from this module, so it holds for both layouts (src/cli/ and dist/src/cli/).
 */
export function packageRoot (): string {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    const candidate = join(dir, 'package.json')
    if (existsSync(candidate) && (JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string }).name === 'ferry') return dir
    if (dirname(dir) === dir) throw new Error(`no package.json of ferry above ${import.meta.dirname}`)
  }
}

/** ferry's version, from its package.json */
export function packageVersion (): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version
}
