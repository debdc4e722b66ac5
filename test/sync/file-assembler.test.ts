import { describe, expect, it } from 'vitest'
import { lstat, readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { CID } from 'multiformats/cid'
import { blockCid, cidKey } from '../../src/hashing/block-cid.ts'
import type { BlockRef, FileRecord } from '../../src/model/file-record.ts'
import { assembleFile, assembleSmallFile, renameIntoPlace, type AssemblerComponents } from '../../src/sync/file-assembler.ts'
import { safeJoin } from '../../src/disk/safe-path.ts'
import { BlocksUnavailableError } from '../../src/sync/block-fetcher.ts'
import { prepareTempArea, tempPathFor } from '../../src/sync/temp-area.ts'
import type { WantedBlock } from '../../protocols/blocks/index.ts'
import { fileRecordOf } from '../helpers/synthetic-records.ts'
import { put, randomBytes, root, scan, store, useScannerFixture } from '../helpers/scanner-fixture.ts'

// The one file assembler (applier installs, restore): real files in a temp folder, a real store
// for block locations, a fake peer that serves (or lacks) blocks.
useScannerFixture()

const PEER = '12D3KooWPeerPeerPeerPeerPeerPeerPeerPeerPeerPeerPeer'

function ref (bytes: Uint8Array): BlockRef {
  return { cid: blockCid(bytes), size: bytes.byteLength }
}

function concat (...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.byteLength }
  return out
}

/** a peer holding `blocks`; records every block asked for */
function peer (blocks: Uint8Array[], asked: string[] = []): AssemblerComponents['fetchBlocks'] {
  const held = new Map(blocks.map(b => [cidKey(blockCid(b)), b]))
  return async (_record, wanted: WantedBlock[], onBlock: (cid: CID, data: Uint8Array) => Promise<void>) => {
    for (const w of wanted) {
      asked.push(cidKey(w.cid))
      const data = held.get(cidKey(w.cid))
      if (data === undefined) throw new BlocksUnavailableError('test', 1)
      await onBlock(w.cid, data)
    }
  }
}

function recordOf (path: string, blocks: readonly BlockRef[], fields: Partial<FileRecord> = {}): FileRecord {
  return fileRecordOf(blocks, { folder: 'test', device: PEER, seq: 1, path, mode: 0o640, mtimeMs: 1_700_000_123_000, ...fields })
}

describe('assembleFile', () => {
  it('builds a file from local blocks and fetched ones: content, bits and mtime of the record', async () => {
    const local = randomBytes(600 * 1024, 3)
    await put('src.bin', local)
    await scan()
    const own = store.own('src.bin')!
    expect(own.blocks.length).toBeGreaterThan(2)
    const fresh = randomBytes(70 * 1024, 9)
    // the first two blocks of our file, then one only the peer has
    const blocks = [own.blocks[0]!, own.blocks[1]!, ref(fresh)]
    const expected = concat(local.subarray(0, own.blocks[0]!.size + own.blocks[1]!.size), fresh)
    const record = recordOf('new.bin', blocks)
    await prepareTempArea(root)
    const tmp = tempPathFor(root, record)
    const asked: string[] = []
    const origins: Record<string, number> = {}
    const meta = await assembleFile({ root, store, fetchBlocks: peer([fresh], asked) }, { record, tmp, onBlock: (o, n) => { origins[o] = (origins[o] ?? 0) + n } })

    expect(asked).toEqual([cidKey(blockCid(fresh))])
    expect(origins).toEqual({ local: own.blocks[0]!.size + own.blocks[1]!.size, peers: fresh.byteLength })
    expect(new Uint8Array(await readFile(tmp))).toEqual(expected)
    const st = await lstat(tmp, { bigint: true })
    expect(Number(st.mode & 0o777n)).toBe(0o640)
    expect(Number(st.mtimeNs / 1_000_000n)).toBe(1_700_000_123_000)
    expect(meta).toEqual({ ino: Number(st.ino), size: expected.byteLength, mtimeNs: st.mtimeNs.toString(), mode: 0o640 })
  })

  it('rebuilds a big file from its local blocks in another order, some twice (each copy\'s buffer is reused only once its writes are done)', async () => {
    const local = randomBytes(24 * 1024 * 1024, 5)
    await put('src.bin', local)
    await scan()
    const own = store.own('src.bin')!.blocks
    expect(own.length).toBeGreaterThan(40)
    // reversed, with the first block again at the end: every block copied, one of them twice
    const blocks = [...own].reverse().concat([own[0]!])
    const starts: number[] = []
    own.reduce((at, b) => { starts.push(at); return at + b.size }, 0)
    const expected = concat(...blocks.map(b => { const i = own.indexOf(b); return local.subarray(starts[i]!, starts[i]! + b.size) }))
    const record = recordOf('rebuilt.bin', blocks)
    await prepareTempArea(root)
    const tmp = tempPathFor(root, record)
    const asked: string[] = []
    await assembleFile({ root, store, fetchBlocks: peer([], asked) }, { record, tmp })
    expect(asked).toEqual([])
    expect(Buffer.from(await readFile(tmp)).equals(Buffer.from(expected))).toBe(true)
  })

  it('does not use a local copy whose bytes no longer match the block id: the block is fetched', async () => {
    const local = randomBytes(300 * 1024, 5)
    await put('src.bin', local)
    await scan()
    const own = store.own('src.bin')!
    // changed behind the store's back (same size, other bytes): every location is stale
    const changed = randomBytes(300 * 1024, 6)
    await writeFile(join(root, 'src.bin'), changed)
    const record = recordOf('copy.bin', own.blocks)
    await prepareTempArea(root)
    const tmp = tempPathFor(root, record)
    const asked: string[] = []
    const pieces: Uint8Array[] = []
    let at = 0
    for (const b of own.blocks) { pieces.push(local.subarray(at, at + b.size)); at += b.size }
    await assembleFile({ root, store, fetchBlocks: peer(pieces, asked) }, { record, tmp })
    expect(asked.length).toBe(own.blocks.length)
    expect(new Uint8Array(await readFile(tmp))).toEqual(local)
  })

  it('resumes a temp file: blocks it holds intact are kept, damaged ones fetched again', async () => {
    const a = randomBytes(100 * 1024, 11)
    const b = randomBytes(100 * 1024, 12)
    const c = randomBytes(100 * 1024, 13)
    const record = recordOf('resumed.bin', [ref(a), ref(b), ref(c)])
    await prepareTempArea(root)
    const tmp = tempPathFor(root, record)
    // an earlier attempt wrote a and c; the middle is garbage
    await writeFile(tmp, concat(a, new Uint8Array(b.byteLength).fill(7), c))
    const asked: string[] = []
    await assembleFile({ root, store, fetchBlocks: peer([a, b, c], asked) }, { record, tmp })
    expect(asked).toEqual([cidKey(blockCid(b))])
    expect(new Uint8Array(await readFile(tmp))).toEqual(concat(a, b, c))
  })

  it('fails when a block cannot be had, and leaves no file at the target: only the temp file, the progress', async () => {
    const a = randomBytes(100 * 1024, 21)
    const b = randomBytes(100 * 1024, 22)
    const record = recordOf('dir/missing.bin', [ref(a), ref(b)])
    await prepareTempArea(root)
    const tmp = tempPathFor(root, record)
    await expect(assembleFile({ root, store, fetchBlocks: peer([a]) }, { record, tmp })).rejects.toThrow(BlocksUnavailableError)
    await expect(lstat(join(root, 'dir/missing.bin'))).rejects.toMatchObject({ code: 'ENOENT' })
    expect(await readdir(root)).toEqual(['.ferry'])
    // what it holds is the block it got (resumable), never more than the record's bytes
    expect((await readFile(tmp)).subarray(0, a.byteLength)).toEqual(Buffer.from(a))
  })

  it('leaves the mtime alone when asked (restore: the time of writing)', async () => {
    const a = randomBytes(90 * 1024, 31)
    const record = recordOf('restored.bin', [ref(a)])
    await prepareTempArea(root)
    const tmp = tempPathFor(root, record)
    const before = Date.now()
    await assembleFile({ root, store, fetchBlocks: peer([a]) }, { record, tmp, setMtime: false })
    expect((await lstat(tmp)).mtimeMs).toBeGreaterThanOrEqual(before - 1000)
  })
})

describe('assembleSmallFile', () => {
  it('builds a small file in one go from local and fetched blocks', async () => {
    const local = randomBytes(20 * 1024, 41)
    await put('small.bin', local)
    await scan()
    const own = store.own('small.bin')!
    const fresh = randomBytes(1000, 42)
    const record = recordOf('small-copy.bin', [...own.blocks, ref(fresh)], { mode: 0o600 })
    await prepareTempArea(root)
    const tmp = tempPathFor(root, record)
    // an older, longer temp file of the same name is overwritten
    await writeFile(tmp, randomBytes(90 * 1024, 43))
    const asked: string[] = []
    await assembleSmallFile({ root, store, fetchBlocks: peer([fresh], asked) }, { record, tmp })
    expect(asked).toEqual([cidKey(blockCid(fresh))])
    expect(new Uint8Array(await readFile(tmp))).toEqual(concat(local, fresh))
    expect((await lstat(tmp)).mode & 0o777).toBe(0o600)
  })

  it('writes nothing when a block cannot be had', async () => {
    const a = randomBytes(1000, 51)
    const record = recordOf('never.bin', [ref(a)])
    await prepareTempArea(root)
    const tmp = tempPathFor(root, record)
    await expect(assembleSmallFile({ root, store, fetchBlocks: peer([]) }, { record, tmp })).rejects.toThrow(BlocksUnavailableError)
    await expect(lstat(tmp)).rejects.toMatchObject({ code: 'ENOENT' })
    await expect(lstat(join(root, 'never.bin'))).rejects.toMatchObject({ code: 'ENOENT' })
  })
})

describe('renameIntoPlace', () => {
  it('renames the assembled file over the target in one step, making a missing parent', async () => {
    const a = randomBytes(90 * 1024, 61)
    const record = recordOf('deep/er/placed.bin', [ref(a)])
    await prepareTempArea(root)
    const tmp = tempPathFor(root, record)
    await assembleFile({ root, store, fetchBlocks: peer([a]) }, { record, tmp })
    await renameIntoPlace(root, tmp, { path: record.path, abs: safeJoin(root, record.path, { leaf: 'any' }) })
    expect(new Uint8Array(await readFile(join(root, record.path)))).toEqual(a)
    await expect(lstat(tmp)).rejects.toMatchObject({ code: 'ENOENT' })

    // over an existing file: the name shows the old bytes or the new ones, never a mix
    const b = randomBytes(80 * 1024, 62)
    const next = recordOf(record.path, [ref(b)], { seq: 2 })
    const tmp2 = tempPathFor(root, next)
    await assembleFile({ root, store, fetchBlocks: peer([b]) }, { record: next, tmp: tmp2 })
    expect(new Uint8Array(await readFile(join(root, record.path)))).toEqual(a)
    await renameIntoPlace(root, tmp2, { path: record.path, abs: safeJoin(root, record.path, { leaf: 'any' }) })
    expect(new Uint8Array(await readFile(join(root, record.path)))).toEqual(b)
  })
})
