import { describe, it, expect, afterEach } from 'vitest'
import { mkdir, readFile, rm, writeFile, lstat } from 'node:fs/promises'
import { join } from 'node:path'
import { Lab, waitConverged, type Device } from '../helpers/ferry-process.ts'
import { parseConflictPath } from '../../src/sync/conflict-name.ts'

/** Lines of a daemon's output reporting a failed action on a path at or below `path`. */
function failures (d: Device, path: string): number {
  return d.log.split('\n').filter(l => l.startsWith(`docs: ${path}`)).length
}

/** A directory on one side, a file on the other: both kept, converged, no error loop. */
describe('type conflicts between real processes', () => {
  let lab: Lab
  afterEach(async () => { await lab.cleanup() })

  const setup = async (): Promise<[Device, Device]> => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.pair(a, b)
    return [a, b]
  }

  it('a directory replaced by a file while the other side edits a file in it', async () => {
    const [a, b] = await setup()
    await mkdir(join(a.folder, 'd'))
    await writeFile(join(a.folder, 'd/x.txt'), 'x')
    await writeFile(join(a.folder, 'd/y.txt'), 'y')
    await Promise.all([lab.start(a), lab.start(b)])
    await waitConverged([a, b])
    // partition: both stopped while a replaces d/ by a file and b edits d/x.txt
    await Promise.all([lab.stop(a), lab.stop(b)])
    await rm(join(a.folder, 'd'), { recursive: true })
    await writeFile(join(a.folder, 'd'), 'file on a')
    await writeFile(join(b.folder, 'd/x.txt'), 'x edited on b')
    await Promise.all([lab.start(a), lab.start(b)])
    const tree = await waitConverged([a, b], 120_000)

    // b's edit is kept at its name, in the directory d; a's file as a conflict copy of d
    for (const dev of [a, b]) {
      expect((await lstat(join(dev.folder, 'd'))).isDirectory()).toBe(true)
      expect(await readFile(join(dev.folder, 'd/x.txt'), 'utf8')).toBe('x edited on b')
    }
    const copies = [...tree.keys()].filter(p => parseConflictPath(p)?.original === 'd')
    expect(copies).toHaveLength(1)
    expect(await readFile(join(b.folder, copies[0]!), 'utf8')).toBe('file on a')
    // a deleted d/y.txt knowingly (nobody changed it): gone
    expect(tree.has('d/y.txt')).toBe(false)
    // no error loop: at most a few failed attempts on the way
    expect(failures(a, 'd') + failures(b, 'd')).toBeLessThanOrEqual(4)
  })

  it('a file replaced by a directory while the other side edits the file', async () => {
    const [a, b] = await setup()
    await writeFile(join(a.folder, 'd'), 'original')
    await Promise.all([lab.start(a), lab.start(b)])
    await waitConverged([a, b])
    await Promise.all([lab.stop(a), lab.stop(b)])
    await rm(join(a.folder, 'd'))
    await mkdir(join(a.folder, 'd'))
    await writeFile(join(a.folder, 'd/inside.txt'), 'inside')
    await writeFile(join(b.folder, 'd'), 'edited on b')
    await Promise.all([lab.start(a), lab.start(b)])
    const tree = await waitConverged([a, b], 120_000)

    for (const dev of [a, b]) {
      expect((await lstat(join(dev.folder, 'd'))).isDirectory()).toBe(true)
      expect(await readFile(join(dev.folder, 'd/inside.txt'), 'utf8')).toBe('inside')
    }
    const copies = [...tree.keys()].filter(p => parseConflictPath(p)?.original === 'd')
    expect(copies).toHaveLength(1)
    expect(await readFile(join(a.folder, copies[0]!), 'utf8')).toBe('edited on b')
    expect(failures(a, 'd') + failures(b, 'd')).toBeLessThanOrEqual(4)
  })
})
