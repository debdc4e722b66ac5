import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'

/** A module longer than this does more than one job: split it (docs/DESIGN.md, "Module map"). */
const MAX_MODULE_LINES = 400
const ROOT = join(import.meta.dirname, '..', '..')
const PRODUCT_DIRS = ['src', 'relay', 'protocols']

async function * sourceFiles (dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) yield * sourceFiles(path)
    else if (/\.(ts|js)$/.test(entry.name)) yield path
  }
}

describe('module size', () => {
  it(`no module of the product is over ${MAX_MODULE_LINES} lines`, async () => {
    const tooLong: string[] = []
    let seen = 0
    for (const dir of PRODUCT_DIRS) {
      for await (const file of sourceFiles(join(ROOT, dir))) {
        seen++
        const text = await readFile(file, 'utf8')
        const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0)
        if (lines > MAX_MODULE_LINES) tooLong.push(`${relative(ROOT, file)}: ${lines} lines`)
      }
    }
    expect(seen).toBeGreaterThan(50)
    expect(tooLong).toEqual([])
  })
})
