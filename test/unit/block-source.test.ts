import { describe, expect, it } from 'vitest'
import { open, rename, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { LocalBlockSource } from '../../src/sync/block-source.ts'
import { blockCid } from '../../src/hashing/block-cid.ts'
import { put, randomBytes, root, scan, store, T1, T2, useScannerFixture } from '../helpers/scanner-fixture.ts'

describe('LocalBlockSource (blocks served to peers)', () => {
  useScannerFixture()

  const blocksOfBig = (): Array<{ cid: string, offset: number, size: number }> => {
    let offset = 0
    return store.own('big.bin')!.blocks.map(b => { const out = { cid: b.cid.toString(), offset, size: b.size }; offset += b.size; return out })
  }

  it('serves the scanned bytes of every block of an unchanged file', async () => {
    const content = randomBytes(3 << 20, 7)
    await put('big.bin', content)
    await scan()
    const source = new LocalBlockSource(root, store)
    try {
      const blocks = blocksOfBig()
      expect(blocks.length).toBeGreaterThan(3)
      for (const [i, b] of store.own('big.bin')!.blocks.entries()) {
        const data = await source.read(b.cid)
        expect(data).toBeDefined()
        expect(Buffer.from(data!).equals(Buffer.from(content.subarray(blocks[i]!.offset, blocks[i]!.offset + b.size)))).toBe(true)
      }
    } finally {
      await source.close()
    }
  })

  it('reads into a buffer it is given (one buffer for block after block, a small file too), or a new one when it is too small', async () => {
    const content = randomBytes(3 << 20, 11)
    await put('big.bin', content)
    await put('small.txt', randomBytes(1000, 12))
    await scan()
    const source = new LocalBlockSource(root, store)
    try {
      const blocks = blocksOfBig()
      const into = new Uint8Array(Math.max(...blocks.map(b => b.size)) + 10)
      for (const [i, b] of store.own('big.bin')!.blocks.entries()) {
        const data = await source.read(b.cid, into)
        expect(data?.buffer).toBe(into.buffer)
        expect(data?.byteOffset).toBe(0)
        expect(Buffer.from(data!).equals(Buffer.from(content.subarray(blocks[i]!.offset, blocks[i]!.offset + b.size)))).toBe(true)
      }
      const small = store.own('small.txt')!.blocks[0]!
      const data = await source.read(small.cid, into)
      expect(data?.buffer).toBe(into.buffer)
      expect(blockCid(data!).equals(small.cid)).toBe(true)
      const tooSmall = new Uint8Array(10)
      const own = await source.read(store.own('big.bin')!.blocks[0]!.cid, tooSmall)
      expect(own?.buffer).not.toBe(tooSmall.buffer)
      expect(blockCid(own!).equals(store.own('big.bin')!.blocks[0]!.cid)).toBe(true)
    } finally {
      await source.close()
    }
  })

  it('after an unscanned in-place edit, a changed block is refused and intact blocks are still served', async () => {
    const content = randomBytes(3 << 20, 8)
    await put('big.bin', content)
    await scan()
    const source = new LocalBlockSource(root, store)
    try {
      const blocks = store.own('big.bin')!.blocks
      expect(await source.read(blocks[0]!.cid)).toBeDefined() // the handle is now cached
      const first = blocksOfBig()[0]!
      const fh = await open(join(root, 'big.bin'), 'r+')
      await fh.write(new Uint8Array([content[10]! ^ 0xff]), 0, 1, first.offset + 10)
      await fh.close()
      await utimes(join(root, 'big.bin'), T2, T2)
      expect(await source.read(blocks[0]!.cid)).toBeUndefined()
      const last = await source.read(blocks.at(-1)!.cid)
      expect(last).toBeDefined()
      expect(blockCid(last!).equals(blocks.at(-1)!.cid)).toBe(true)
    } finally {
      await source.close()
    }
  })

  it('a file replaced by another under the same name (new inode) never serves the new bytes as the old block', async () => {
    await put('big.bin', randomBytes(2 << 20, 9))
    await scan()
    const source = new LocalBlockSource(root, store)
    try {
      const blocks = store.own('big.bin')!.blocks
      expect(await source.read(blocks[1]!.cid)).toBeDefined()
      await writeFile(join(root, 'other.tmp'), randomBytes(2 << 20, 10))
      await utimes(join(root, 'other.tmp'), T1, T1)
      await rename(join(root, 'other.tmp'), join(root, 'big.bin'))
      for (const b of blocks) {
        const data = await source.read(b.cid)
        // the cached handle may still name the old file: then its bytes are the block's own
        if (data !== undefined) expect(blockCid(data).equals(b.cid)).toBe(true)
      }
      await scan()
      for (const b of blocks) expect(await source.read(b.cid)).toBeUndefined()
    } finally {
      await source.close()
    }
  })
})

describe('block reads never follow a link out of the folder', () => {
  useScannerFixture()

  it('a directory of a scanned file replaced by a link to a copy elsewhere: nothing is read through it', async () => {
    const { mkdtemp, rm, symlink, cp } = await import('node:fs/promises')
    const { tmpdir } = await import('node:os')
    const { readLocalBlock } = await import('../../src/sync/local-blocks.ts')
    const small = randomBytes(10_000, 11)
    const big = randomBytes(3 << 20, 12)
    await put('d/small.bin', small)
    await put('d/big.bin', big)
    await put('leaf.bin', randomBytes(10_000, 13))
    await scan()
    // the same bytes, outside the folder, reachable through links where the scanned files were
    const outside = await mkdtemp(join(tmpdir(), 'ferry-outside-'))
    try {
      await cp(join(root, 'd'), join(outside, 'd'), { recursive: true, preserveTimestamps: true })
      await cp(join(root, 'leaf.bin'), join(outside, 'leaf.bin'), { preserveTimestamps: true })
      await rename(join(root, 'd'), join(root, 'd-moved'))
      await symlink(join(outside, 'd'), join(root, 'd'))
      await rename(join(root, 'leaf.bin'), join(root, 'leaf-moved.bin'))
      await symlink(join(outside, 'leaf.bin'), join(root, 'leaf.bin'))
      const source = new LocalBlockSource(root, store)
      try {
        for (const path of ['d/small.bin', 'd/big.bin', 'leaf.bin']) {
          for (const b of store.own(path)!.blocks) {
            expect(await source.read(b.cid), path).toBeUndefined()
            expect(await readLocalBlock({ root, store }, b.cid, b.size), path).toBeUndefined()
          }
        }
      } finally {
        await source.close()
      }
    } finally {
      await rm(outside, { recursive: true, force: true })
    }
  })
})
