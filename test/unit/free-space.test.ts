import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { execFileSync } from 'node:child_process'
import { mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises'
import type { statfs } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FreeSpace, MAX_SAFETY_MARGIN_BYTES, NoSpaceError, safetyMargin } from '../../src/sync/free-space.ts'

const MiB = 1024 * 1024

/** a statfs that reports a disk of `total` bytes with `free` available (for the bookkeeping alone) */
function fakeDisk (disk: { total: number, free: number }): typeof statfs {
  return (async () => ({ bsize: 1, blocks: disk.total, bavail: disk.free, bfree: disk.free, files: 0, ffree: 0, type: 0 })) as unknown as typeof statfs
}

describe('FreeSpace bookkeeping', () => {
  it('keeps 1% of the disk (at most 64 MiB) free', () => {
    expect(safetyMargin(20 * MiB)).toBe(Math.floor(20 * MiB / 100))
    expect(safetyMargin(1024 * 1024 * MiB)).toBe(MAX_SAFETY_MARGIN_BYTES)
  })

  it('counts what downloads in progress still need, and gives it back', async () => {
    const disk = { total: 1000 * MiB, free: 100 * MiB }
    const space = new FreeSpace('/', { statfs: fakeDisk(disk) })
    const a = await space.reserve('a', 60 * MiB)
    await expect(space.reserve('b', 60 * MiB)).rejects.toBeInstanceOf(NoSpaceError)
    await expect(space.reserve('b', 60 * MiB)).rejects.toMatchObject({ code: 'ERR_FERRY_NO_SPACE', message: expect.stringContaining('not enough free space for b') })
    a.release()
    const b = await space.reserve('b', 60 * MiB)
    b.release()
    // more than the disk holds, minus the margin
    await expect(space.reserve('c', 100 * MiB)).rejects.toBeInstanceOf(NoSpaceError)
    // nothing to write: always fine
    ;(await space.reserve('d', 0)).release()
  })
})

/** A real small file system: only root may mount one (the bookkeeping above holds everywhere). */
describe.skipIf(process.getuid?.() !== 0)('FreeSpace on a full tmpfs', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-space-'))
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', `ferry-space-${process.pid}`, dir])
  })
  afterAll(async () => {
    try { execFileSync('umount', [dir]) } catch { execFileSync('umount', ['-l', dir]) }
    await rm(dir, { recursive: true, force: true })
  })

  it('refuses a download that cannot fit, before writing anything', async () => {
    const space = new FreeSpace(dir)
    let started = false
    await expect(space.download('big.bin', join(dir, 'big.part'), 5 * MiB, async () => { started = true })).rejects.toMatchObject({ code: 'ERR_FERRY_NO_SPACE' })
    expect(started).toBe(false)
  })

  it('when the disk fills up during a write, the temp file is removed and the error is ERR_FERRY_NO_SPACE', async () => {
    const space = new FreeSpace(dir)
    const tmp = join(dir, 'f.part')
    // fits when it starts; something else takes the space meanwhile
    await expect(space.download('f.bin', tmp, 2 * MiB, async r => {
      await writeFile(join(dir, 'other'), Buffer.alloc(3 * MiB))
      const fh = await open(tmp, 'w')
      try {
        for (let i = 0; i < 2; i++) { await fh.write(Buffer.alloc(MiB, 1)); r.wrote(MiB) }
      } finally { await fh.close() }
    })).rejects.toMatchObject({ code: 'ERR_FERRY_NO_SPACE', message: expect.stringContaining('temp file was removed') })
    await expect(stat(tmp)).rejects.toMatchObject({ code: 'ENOENT' })
    await rm(join(dir, 'other'))
    // and once there is room again, the same download goes through
    await space.download('f.bin', tmp, 2 * MiB, async () => { await writeFile(tmp, Buffer.alloc(2 * MiB)) })
    expect((await stat(tmp)).size).toBe(2 * MiB)
  })
})
