import { describe, it, expect, afterEach, beforeEach } from 'vitest'
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { IgnoreRules } from '../../src/ignore/ignore-rules.ts'

describe('IgnoreRules', () => {
  let root: string
  beforeEach(async () => { root = await mkdtemp(join(tmpdir(), 'ferry-ignore-')) })
  afterEach(async () => { await rm(root, { recursive: true, force: true }) })

  it('follows gitignore semantics, never ignores itself, and reports whether a reload changed anything', async () => {
    const rules = new IgnoreRules()
    expect(await rules.reload(root)).toBe(false)
    expect(rules.active).toBe(false)
    await writeFile(join(root, '.ferryignore'), '*.log\n!keep.log\nbuild/\n/top.txt\n.*\n')
    expect(await rules.reload(root)).toBe(true)
    expect(await rules.reload(root)).toBe(false)
    expect(rules.ignores('a/b/x.log', false)).toBe(true)
    expect(rules.ignores('keep.log', false)).toBe(false)
    expect(rules.ignores('build', true)).toBe(true)
    expect(rules.ignores('build', false)).toBe(false) // a file named build: the pattern is for directories
    expect(rules.ignores('src/build/out.o', false)).toBe(true)
    expect(rules.ignores('top.txt', false)).toBe(true)
    expect(rules.ignores('sub/top.txt', false)).toBe(false)
    expect(rules.ignores('.ferryignore', false)).toBe(false)
    expect(rules.ignores('.hidden', false)).toBe(true)
    await rm(join(root, '.ferryignore'))
    expect(await rules.reload(root)).toBe(true)
    expect(rules.ignores('x.log', false)).toBe(false)
    // a directory named .ferryignore holds no rules
    await mkdir(join(root, '.ferryignore'))
    expect(await rules.reload(root)).toBe(false)
  })
})
