import { describe, expect, it } from 'vitest'
import { appendFile, chmod, lstat, mkdir, rename, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { blockCid } from '../../src/hashing/block-cid.ts'
import { dominates } from '../../src/model/version-vector.ts'
import { T1, T2, T3, batches, blocksOf, cids, committedPaths, countingReader, dir, disturbingReader, forgetBatches, put, randomBytes, root, scan, self, store, useScannerFixture } from '../helpers/scanner-fixture.ts'

// scanFolder: full scans, rescans, files that change while read
useScannerFixture()

describe('scanFolder: first full scan', () => {
  it('records every file with its size, blocks, mode and mtime, and every directory', async () => {
    await put('a.txt', 'hello ferry')
    await chmod(join(root, 'a.txt'), 0o640)
    await put('big.bin', randomBytes(600 * 1024, 7))
    await put('empty.txt', '')
    await put('docs/readme.md', '# readme\n')
    await mkdir(join(root, 'docs/nested'))
    await mkdir(join(root, 'emptydir'))

    const result = await scan()

    const own = store.ownRecords()
    expect([...own.keys()].sort()).toEqual(['a.txt', 'big.bin', 'docs', 'docs/nested', 'docs/readme.md', 'empty.txt', 'emptydir'])
    expect(result).toEqual({ changed: 7, unstable: [], files: 4, dirs: 3, problems: [] })

    for (const path of ['a.txt', 'big.bin', 'empty.txt', 'docs/readme.md']) {
      const abs = join(root, path)
      const st = await lstat(abs, { bigint: true })
      const r = own.get(path)!
      expect(r.type, path).toBe('file')
      expect(r.deleted, path).toBe(false)
      expect(r.device, path).toBe(self)
      expect(r.size, path).toBe(Number(st.size))
      expect(cids(r), path).toEqual(await blocksOf(abs))
      expect(r.mode, path).toBe(Number(st.mode & 0o777n))
      expect(r.mtimeMs, path).toBe(Number(st.mtimeNs / 1_000_000n))
      expect(store.meta(path), path).toEqual({ ino: Number(st.ino), size: Number(st.size), mtimeNs: st.mtimeNs.toString(), mode: Number(st.mode & 0o777n) })
    }
    expect(own.get('big.bin')!.blocks.length).toBeGreaterThan(1)
    expect(own.get('empty.txt')!.blocks).toEqual([])
    expect(own.get('a.txt')!.mode).toBe(0o640)
    expect(own.get('a.txt')!.mtimeMs).toBe(T1 * 1000)

    for (const path of ['docs', 'docs/nested', 'emptydir']) {
      const r = own.get(path)!
      expect(r.type, path).toBe('dir')
      expect(r.deleted, path).toBe(false)
      expect(r.size, path).toBe(0)
      expect(r.blocks, path).toEqual([])
    }
  })

  it('skips the .ferry directory at the root and names that are not valid paths', async () => {
    await put('ok.txt', 'ok')
    await put('.ferry/state', 'internal')
    await put('.ferry/deep/more', 'internal')
    await put('back\\slash.txt', 'invalid name')
    await put('sub/tab\there.txt', 'invalid name')

    const reads: string[] = []
    const result = await scan({ readBlocks: countingReader(reads) })

    expect([...store.ownRecords().keys()].sort()).toEqual(['ok.txt', 'sub'])
    expect(reads).toEqual(['ok.txt'])
    expect(result.files).toBe(1)
  })
})

describe('scanFolder: rescans', () => {
  it('commits nothing and reads no content when nothing changed', async () => {
    await put('a.txt', 'a')
    await put('dir/b.bin', randomBytes(200 * 1024, 3))
    await mkdir(join(root, 'empty'))
    await scan()
    const before = store.ownRecords()
    const position = store.position(self)
    forgetBatches()

    const reads: string[] = []
    const result = await scan({ readBlocks: countingReader(reads) })

    expect(reads).toEqual([])
    expect(batches).toEqual([])
    expect(result.changed).toBe(0)
    expect(store.position(self)).toBe(position)
    expect(store.ownRecords()).toEqual(before)
  })

  it('recognises a renamed or moved file by inode, size and mtime, without reading it', async () => {
    await put('big.bin', randomBytes(300 * 1024, 9))
    await mkdir(join(root, 'sub'))
    await scan()
    const original = store.own('big.bin')!
    await rename(join(root, 'big.bin'), join(root, 'sub/moved.bin'))
    const reads: string[] = []
    await scan({ readBlocks: countingReader(reads), paths: ['big.bin', 'sub/moved.bin'] })
    expect(reads).toEqual([])
    const moved = store.own('sub/moved.bin')!
    expect(moved.blocks.map(b => b.cid.toString())).toEqual(original.blocks.map(b => b.cid.toString()))
    expect(moved.size).toBe(original.size)
    expect(store.own('big.bin')!.deleted).toBe(true)
  })

  it('re-reads only files whose size, mtime or inode changed; identical content keeps its version', async () => {
    await put('modified.txt', 'version one')
    await put('renamed.txt', 'AAAAAAAA')
    await put('touched.txt', 'same content')
    await put('untouched.txt', 'never changes')
    await scan()
    const before = store.ownRecords()
    const renamedIno = (await lstat(join(root, 'renamed.txt'))).ino
    forgetBatches()

    // size (and mtime) change
    await put('modified.txt', 'version two, longer', T2)
    // new inode, same size, mtime set back
    await writeFile(join(root, 'tmp'), 'BBBBBBBB')
    await rename(join(root, 'tmp'), join(root, 'renamed.txt'))
    await utimes(join(root, 'renamed.txt'), T1, T1)
    expect((await lstat(join(root, 'renamed.txt'))).ino).not.toBe(renamedIno)
    // mtime only
    await utimes(join(root, 'touched.txt'), T3, T3)

    const reads: string[] = []
    await scan({ readBlocks: countingReader(reads) })

    expect(reads.sort()).toEqual(['modified.txt', 'renamed.txt', 'touched.txt'])
    expect(committedPaths()).toEqual(['modified.txt', 'renamed.txt'])

    for (const path of ['modified.txt', 'renamed.txt']) {
      const now = store.own(path)!
      expect(now.seq, path).toBeGreaterThan(before.get(path)!.seq)
      expect(dominates(now.version, before.get(path)!.version), path).toBe(true)
      expect(cids(now), path).toEqual(await blocksOf(join(root, path)))
    }

    const touched = store.own('touched.txt')!
    expect(touched.seq).toBe(before.get('touched.txt')!.seq)
    expect(touched.version).toEqual(before.get('touched.txt')!.version)
    expect(store.meta('touched.txt')!.mtimeNs).toBe((BigInt(T3) * 1_000_000_000n).toString())

    expect(store.own('untouched.txt')).toEqual(before.get('untouched.txt'))
  })

  it('a touched file with identical content is not read again on the next scan', async () => {
    await put('touched.txt', 'same content')
    await scan()
    await utimes(join(root, 'touched.txt'), T2, T2)
    await scan()

    const reads: string[] = []
    await scan({ readBlocks: countingReader(reads) })
    expect(reads).toEqual([])
  })

  it('only the executable bit changing gives a new version with the same blocks, without reading', async () => {
    await put('tool.sh', randomBytes(150 * 1024, 11))
    await chmod(join(root, 'tool.sh'), 0o644)
    await scan()
    const before = store.own('tool.sh')!
    forgetBatches()

    await chmod(join(root, 'tool.sh'), 0o755)
    const reads: string[] = []
    await scan({ readBlocks: countingReader(reads) })

    expect(reads).toEqual([])
    const after = store.own('tool.sh')!
    expect(after.seq).toBeGreaterThan(before.seq)
    expect(dominates(after.version, before.version)).toBe(true)
    expect(after.mode & 0o111).toBe(0o111)
    expect(after.size).toBe(before.size)
    expect(cids(after)).toEqual(cids(before))
    expect(store.meta('tool.sh')!.mode).toBe(0o755)
  })
})

describe('scanFolder: files that change while being read', () => {
  it('a new file that grows during the read is reported unstable, not recorded, and recorded by the next scan', async () => {
    await put('stable.txt', 'stable')
    await put('grow.bin', randomBytes(300 * 1024, 5))

    const result = await scan({
      readBlocks: disturbingReader('grow.bin', async () => { await appendFile(join(root, 'grow.bin'), randomBytes(100 * 1024, 6)) })
    })

    expect(result.unstable).toEqual(['grow.bin'])
    expect(store.own('grow.bin')).toBeUndefined()
    expect(committedPaths()).toEqual(['stable.txt'])

    await scan()
    const r = store.own('grow.bin')!
    expect(r.size).toBe(400 * 1024)
    expect(cids(r)).toEqual(await blocksOf(join(root, 'grow.bin')))
  })

  it('a known file rewritten during the read keeps its old record until a scan sees it settle', async () => {
    const v1 = randomBytes(700 * 1024, 21)
    const v2 = randomBytes(700 * 1024, 22)
    const v3 = randomBytes(700 * 1024, 23)
    await put('busy.bin', v1)
    await scan()
    const before = store.own('busy.bin')!
    const metaBefore = store.meta('busy.bin')
    expect(before.blocks.length).toBeGreaterThan(1)
    forgetBatches()

    await put('busy.bin', v2, T2)
    const result = await scan({
      readBlocks: disturbingReader('busy.bin', async () => {
        // same size: only the mtime tells
        await writeFile(join(root, 'busy.bin'), v3)
        await utimes(join(root, 'busy.bin'), T3, T3)
      })
    })

    expect(result.unstable).toEqual(['busy.bin'])
    expect(batches).toEqual([])
    expect(store.own('busy.bin')).toEqual(before)
    expect(store.meta('busy.bin')).toEqual(metaBefore)

    await scan()
    const after = store.own('busy.bin')!
    expect(after.seq).toBeGreaterThan(before.seq)
    const expected = await blocksOf(join(root, 'busy.bin'))
    expect(cids(after)).toEqual(expected)
    // the final content is v3, read start to end
    const v3Blocks: string[] = []
    let offset = 0
    for (const b of expected) { v3Blocks.push(blockCid(v3.subarray(offset, offset + b.size)).toString()); offset += b.size }
    expect(expected.map(b => b.cid)).toEqual(v3Blocks)
  })
})
