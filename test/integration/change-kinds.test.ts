import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdir, writeFile, rename, rm, chmod, utimes, stat, readFile, appendFile } from 'node:fs/promises'
import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { Lab, status, waitConverged, type Device } from '../helpers/ferry-process.ts'

/** Two real `ferry start` processes on loopback, driven through every kind of change. */
describe('two devices keep a folder identical through every change kind', () => {
  const lab = new Lab()
  let a: Device
  let b: Device
  const received = async (d: Device): Promise<number> => Object.values((await status(d)).receivedBytes).reduce((x, y) => x + y, 0)

  beforeAll(async () => {
    await lab.setup()
    a = await lab.device('a')
    b = await lab.device('b')
    await lab.pair(a, b)
    await Promise.all([lab.start(a), lab.start(b)])
  })
  afterAll(async () => { await lab.cleanup() })

  it('creates nested trees, empty dirs, executables and keeps mtimes (a -> b)', async () => {
    await mkdir(join(a.folder, 'x/y/z'), { recursive: true })
    await mkdir(join(a.folder, 'empty/inner'), { recursive: true })
    await writeFile(join(a.folder, 'x/y/z/deep.txt'), 'deep\n')
    await writeFile(join(a.folder, 'run.sh'), '#!/bin/sh\necho hi\n')
    await chmod(join(a.folder, 'run.sh'), 0o755)
    await writeFile(join(a.folder, 'big.bin'), randomBytes(3 * 1024 * 1024 + 17))
    const when = new Date('2020-02-02T20:20:20Z')
    await utimes(join(a.folder, 'big.bin'), when, when)
    await writeFile(join(a.folder, 'zero.txt'), '')
    const tree = await waitConverged([a, b])
    expect(tree.get('empty/inner')).toBe('dir')
    expect(tree.get('run.sh')).toMatch(/^file:x:/)
    expect(tree.get('zero.txt')).toBeDefined()
    expect((await stat(join(b.folder, 'big.bin'))).mtimeMs).toBe(when.getTime())
  })

  it('propagates modifications and new files (b -> a)', async () => {
    await appendFile(join(b.folder, 'x/y/z/deep.txt'), 'more\n')
    await writeFile(join(b.folder, 'from-b.txt'), 'hello from b')
    await waitConverged([a, b])
    expect(await readFile(join(a.folder, 'x/y/z/deep.txt'), 'utf8')).toBe('deep\nmore\n')
    expect(await readFile(join(a.folder, 'from-b.txt'), 'utf8')).toBe('hello from b')
  })

  it('a rename or move moves zero block bytes over the network', async () => {
    const before = await received(b)
    const inode = (await stat(join(b.folder, 'big.bin'))).ino
    await mkdir(join(a.folder, 'moved'))
    await rename(join(a.folder, 'big.bin'), join(a.folder, 'moved/big-renamed.bin'))
    const tree = await waitConverged([a, b])
    expect(tree.has('big.bin')).toBe(false)
    expect(tree.has('moved/big-renamed.bin')).toBe(true)
    expect(await received(b)).toBe(before)
    // b renamed its own file too (no copy of its blocks): same inode
    expect((await stat(join(b.folder, 'moved/big-renamed.bin'))).ino).toBe(inode)
  })

  it('an overwrite in the middle of a big file moves about the changed blocks, the rest is copied in place', async () => {
    const path = 'moved/big-renamed.bin'
    const before = await received(b)
    const data = await readFile(join(a.folder, path))
    const patch = randomBytes(64 * 1024)
    patch.copy(data, 1_500_000)
    await writeFile(join(a.folder, path), data)
    const tree = await waitConverged([a, b])
    expect(tree.get(path)).toBe(`file:-:${createHash('sha256').update(data).digest('hex')}`)
    // the changed region plus the chunks around it (chunks are 64 KiB..1 MiB)
    expect(await received(b) - before).toBeLessThanOrEqual(64 * 1024 + 2 * 1024 * 1024)
  })

  it('a copy of an existing file is assembled from local blocks', async () => {
    const before = await received(a)
    await writeFile(join(b.folder, 'copy.bin'), await readFile(join(b.folder, 'moved/big-renamed.bin')))
    await waitConverged([a, b])
    expect(await received(a)).toBe(before)
  })

  it('deletes whole trees (b -> a) and single files and empty dirs (a -> b)', async () => {
    await rm(join(b.folder, 'x'), { recursive: true })
    await waitConverged([a, b])
    await expect(stat(join(a.folder, 'x'))).rejects.toMatchObject({ code: 'ENOENT' })
    await rm(join(a.folder, 'zero.txt'))
    await rm(join(a.folder, 'empty'), { recursive: true })
    const tree = await waitConverged([a, b])
    expect(tree.has('zero.txt')).toBe(false)
    expect(tree.has('empty')).toBe(false)
  })

  it('propagates an executable-bit change alone, and a same-size rewrite', async () => {
    await chmod(join(b.folder, 'run.sh'), 0o644)
    const tree = await waitConverged([a, b])
    expect(tree.get('run.sh')).toMatch(/^file:-:/)
    await writeFile(join(a.folder, 'from-b.txt'), 'HELLO FROM B')
    await waitConverged([a, b])
    expect(await readFile(join(b.folder, 'from-b.txt'), 'utf8')).toBe('HELLO FROM B')
  })

  it('turns a file into a directory and back', async () => {
    await rm(join(a.folder, 'from-b.txt'))
    await mkdir(join(a.folder, 'from-b.txt'))
    await writeFile(join(a.folder, 'from-b.txt/inside'), 'now a dir')
    let tree = await waitConverged([a, b])
    expect(tree.get('from-b.txt')).toBe('dir')
    await rm(join(b.folder, 'from-b.txt'), { recursive: true })
    await writeFile(join(b.folder, 'from-b.txt'), 'a file again')
    tree = await waitConverged([a, b])
    expect(tree.get('from-b.txt')).toMatch(/^file:/)
  })

  it('never syncs the internal area', async () => {
    const tree = await waitConverged([a, b])
    expect([...tree.keys()].some(p => p.startsWith('.ferry'))).toBe(false)
  })
})
