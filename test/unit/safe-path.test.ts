import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { lstat, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { safeJoin, safeMkdirp, UnsafePathError } from '../../src/disk/safe-path.ts'
import { prepareTempArea, sweepTempArea, tempPathFor } from '../../src/sync/temp-area.ts'
import { linkToTrash, listTrash, moveToTrash } from '../../src/history/trash.ts'
import type { FileRecord } from '../../src/model/file-record.ts'

const record = { path: 'a.txt', version: { x: 1 } } as unknown as FileRecord

describe('safe-path: nothing outside the folder is reached', () => {
  let base: string
  let root: string
  let outside: string
  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'ferry-safe-path-'))
    root = join(base, 'folder')
    outside = join(base, 'outside')
    await mkdir(root)
    await mkdir(outside)
  })
  afterEach(async () => { await rm(base, { recursive: true, force: true }) })

  const refused = (f: () => unknown, code = 'ERR_FERRY_UNSAFE_PATH'): void => {
    try {
      f()
    } catch (err) {
      expect(err).toBeInstanceOf(UnsafePathError)
      expect((err as UnsafePathError).code).toBe(code)
      return
    }
    throw new Error('not refused')
  }

  it('joins plain paths, existing or not', async () => {
    await mkdir(join(root, 'd/e'), { recursive: true })
    expect(safeJoin(root, 'd/e/f.txt')).toBe(join(root, 'd/e/f.txt'))
    expect(safeJoin(root, 'missing/deeper/f.txt')).toBe(join(root, 'missing/deeper/f.txt'))
  })

  it('refuses a symlinked parent, at any depth', async () => {
    await mkdir(join(root, 'd'))
    await symlink(outside, join(root, 'esc'))
    await symlink(outside, join(root, 'd/esc'))
    refused(() => safeJoin(root, 'esc/pwn.txt'))
    refused(() => safeJoin(root, 'd/esc/x/pwn.txt'))
    refused(() => safeJoin(root, 'esc/pwn.txt', { leaf: 'any' }))
  })

  it('refuses a symlink as the entry itself unless the caller only looks at it', async () => {
    await symlink(join(outside, 'target'), join(root, 'link.txt'))
    refused(() => safeJoin(root, 'link.txt'))
    expect(safeJoin(root, 'link.txt', { leaf: 'any' })).toBe(join(root, 'link.txt'))
  })

  it('refuses a file as a parent with its own code', async () => {
    await writeFile(join(root, 'f'), 'x')
    refused(() => safeJoin(root, 'f/x.txt'), 'ERR_FERRY_NOT_A_DIRECTORY')
  })

  it('refuses .., ., empty segments and absolute paths', () => {
    for (const bad of ['../x', 'a/../../x', './x', 'a//b', '/etc/passwd', '', 'a/..']) refused(() => safeJoin(root, bad))
  })

  it('mkdir -p never crosses a link, and makes the rest one component at a time', async () => {
    await symlink(outside, join(root, 'esc'))
    await expect(safeMkdirp(root, 'esc/new/dir')).rejects.toBeInstanceOf(UnsafePathError)
    expect(await readdir(outside)).toEqual([])
    expect(await safeMkdirp(root, 'a/b/c', 0o700)).toBe(true)
    expect((await lstat(join(root, 'a/b/c'))).isDirectory()).toBe(true)
    expect(await safeMkdirp(root, 'a/b/c')).toBe(false)
  })

  it('a symlinked .ferry is refused: no temp file, no trash entry, no sweep goes through it', async () => {
    await mkdir(join(outside, 'tmp/0'), { recursive: true })
    await writeFile(join(outside, 'tmp/0/keep.part'), 'outside data')
    await writeFile(join(outside, 'tmp/stray'), 'outside data')
    await symlink(outside, join(root, '.ferry'))
    await writeFile(join(root, 'a.txt'), 'mine')
    await expect(prepareTempArea(root)).rejects.toBeInstanceOf(UnsafePathError)
    refused(() => tempPathFor(root, record))
    await expect(linkToTrash(root, 'a.txt', 1)).rejects.toBeInstanceOf(UnsafePathError)
    await expect(moveToTrash(root, 'a.txt', 1)).rejects.toBeInstanceOf(UnsafePathError)
    expect(await listTrash(root)).toEqual([])
    await sweepTempArea(root, () => false)
    expect((await readdir(join(outside, 'tmp'))).sort()).toEqual(['0', 'stray'])
    expect(await readdir(join(outside, 'tmp/0'))).toEqual(['keep.part'])
    expect((await lstat(join(root, 'a.txt'))).isFile()).toBe(true)
  })

  it('a symlinked temp shard or .ferry/tmp is replaced by a directory (the link only), and the sweep never enters one', async () => {
    await mkdir(join(outside, 'shard'))
    await writeFile(join(outside, 'shard/victim'), 'outside data')
    await mkdir(join(root, '.ferry/tmp'), { recursive: true })
    await symlink(join(outside, 'shard'), join(root, '.ferry/tmp/3'))
    await sweepTempArea(root, () => false) // the link itself may go; never what is behind it
    expect(await readdir(join(outside, 'shard'))).toEqual(['victim'])
    await symlink(join(outside, 'shard'), join(root, '.ferry/tmp/4'))
    await prepareTempArea(root)
    expect((await lstat(join(root, '.ferry/tmp/4'))).isDirectory()).toBe(true)
    expect(await readdir(join(outside, 'shard'))).toEqual(['victim'])
    expect(tempPathFor(root, record).startsWith(join(root, '.ferry/tmp/'))).toBe(true)
  })
})
