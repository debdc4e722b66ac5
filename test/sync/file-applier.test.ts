import { describe, expect, it } from 'vitest'
import { lstat, readFile, readdir, writeFile } from 'node:fs/promises'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { logger } from '@libp2p/logger'
import type { CID } from 'multiformats/cid'
import { blockCid, cidKey } from '../../src/hashing/block-cid.ts'
import type { BlockRef, FileRecord } from '../../src/model/file-record.ts'
import { AsyncLock } from '../../src/store/async-lock.ts'
import { applyAction, InstallQueue, LocalChangeError, StalePlanError, type ApplierComponents } from '../../src/sync/file-applier.ts'
import { BlocksUnavailableError } from '../../src/sync/block-fetcher.ts'
import { prepareTempArea } from '../../src/sync/temp-area.ts'
import { FolderTrash } from '../../src/history/folder-trash.ts'
import { listTrash } from '../../src/history/trash.ts'
import type { WantedBlock } from '../../protocols/blocks/index.ts'
import { fileRecordOf } from '../helpers/synthetic-records.ts'
import { blocksOf, cids, put, randomBytes, root, scan, store, useScannerFixture } from '../helpers/scanner-fixture.ts'

// The applier on real files: a temp folder, a real store, the real trash, a fake peer.
useScannerFixture()

const PEER = '12D3KooWPeerPeerPeerPeerPeerPeerPeerPeerPeerPeerPeer'

function ref (bytes: Uint8Array): BlockRef {
  return { cid: blockCid(bytes), size: bytes.byteLength }
}

/** the applier's parts around a peer holding `blocks` */
async function applier (blocks: Uint8Array[]): Promise<ApplierComponents> {
  await prepareTempArea(root)
  const held = new Map(blocks.map(b => [cidKey(blockCid(b)), b]))
  const fetchBlocks = async (_record: FileRecord, wanted: WantedBlock[], onBlock: (cid: CID, data: Uint8Array) => Promise<void>): Promise<void> => {
    for (const w of wanted) {
      const data = held.get(cidKey(w.cid))
      if (data === undefined) throw new BlocksUnavailableError('test', 1)
      await onBlock(w.cid, data)
    }
  }
  const base = { root, store, diskLock: new AsyncLock(), fetchBlocks, log: logger('test:applier'), trash: new FolderTrash({ root, store }) }
  return { ...base, installs: new InstallQueue(base) }
}

/** a peer's version of `path` over `blocks` (version: its counter `seq`, after ours when given) */
function peerVersion (path: string, blocks: readonly BlockRef[], seq: number, fields: Partial<FileRecord> = {}): FileRecord {
  const own = store.own(path)
  return fileRecordOf(blocks, { folder: 'test', device: PEER, seq, path, mode: 0o644, mtimeMs: 1_700_000_500_000, version: { ...own?.version, [PEER]: seq }, ...fields })
}

const base = (path: string): number => store.own(path)?.seq ?? 0

describe('applyAction', () => {
  it('installs a new file from blocks: content, bits, mtime, and our record adopts the version', async () => {
    const a = randomBytes(100 * 1024, 1)
    const b = randomBytes(5 * 1024, 2)
    const c = await applier([a, b])
    const record = peerVersion('docs/new.bin', [ref(a), ref(b)], 1, { mode: 0o755 })
    await applyAction({ kind: 'fetch', path: record.path, record }, c, 0)

    const abs = join(root, 'docs/new.bin')
    expect(new Uint8Array(await readFile(abs))).toEqual(new Uint8Array([...a, ...b]))
    const st = await lstat(abs, { bigint: true })
    expect(Number(st.mode & 0o777n)).toBe(0o755)
    expect(Number(st.mtimeNs / 1_000_000n)).toBe(1_700_000_500_000)
    const own = store.own('docs/new.bin')!
    expect(own.version).toEqual(record.version)
    expect(own.modifiedBy).toBe(PEER)
    expect(store.meta('docs/new.bin')).toMatchObject({ ino: Number(st.ino), size: Number(st.size), mtimeNs: st.mtimeNs.toString() })
    // the temp area holds nothing of it any more
    expect((await readdir(join(root, '.ferry/tmp'), { recursive: true })).filter(n => n.endsWith('.part') || n.includes('new'))).toEqual([])
  })

  it('installs a small file', async () => {
    const a = randomBytes(3000, 3)
    const c = await applier([a])
    const record = peerVersion('small.txt', [ref(a)], 1)
    await applyAction({ kind: 'fetch', path: record.path, record }, c, 0)
    expect(new Uint8Array(await readFile(join(root, 'small.txt')))).toEqual(a)
    expect(store.own('small.txt')?.modifiedBy).toBe(PEER)
  })

  it('replaces our file with a peer\'s version and keeps the old one in the trash', async () => {
    const old = randomBytes(80 * 1024, 4)
    await put('a.bin', old)
    await scan()
    const next = randomBytes(90 * 1024, 5)
    const c = await applier([next])
    const record = peerVersion('a.bin', [ref(next)], 1)
    await applyAction({ kind: 'fetch', path: 'a.bin', record }, c, base('a.bin'))

    expect(new Uint8Array(await readFile(join(root, 'a.bin')))).toEqual(next)
    const trash = await listTrash(root)
    expect(trash.map(e => e.path)).toEqual(['a.bin'])
    expect(new Uint8Array(await readFile(trash[0]!.file))).toEqual(old)
  })

  it('deletes our file into the trash and records the peer\'s tombstone', async () => {
    const old = randomBytes(10 * 1024, 6)
    await put('gone.txt', old)
    await scan()
    const c = await applier([])
    const record = peerVersion('gone.txt', [], 1, { deleted: true, size: 0 })
    await applyAction({ kind: 'delete', path: 'gone.txt', record }, c, base('gone.txt'))

    await expect(lstat(join(root, 'gone.txt'))).rejects.toMatchObject({ code: 'ENOENT' })
    expect(store.own('gone.txt')?.deleted).toBe(true)
    const trash = await listTrash(root)
    expect(trash.map(e => e.path)).toEqual(['gone.txt'])
    expect(new Uint8Array(await readFile(trash[0]!.file))).toEqual(old)
  })

  it('dir-over-file: our file is kept under its conflict name and the path becomes a directory', async () => {
    const old = randomBytes(4 * 1024, 7)
    await put('x', old)
    await scan()
    const local = store.own('x')!
    const c = await applier([])
    const copies: string[] = []
    c.onConflictCopy = (path, conflictPath) => copies.push(`${path} -> ${conflictPath}`)
    await applyAction({ kind: 'dir-over-file', path: 'x', local, conflictPath: 'x.sync-conflict-1' }, c, base('x'))

    expect((await lstat(join(root, 'x'))).isDirectory()).toBe(true)
    expect(new Uint8Array(await readFile(join(root, 'x.sync-conflict-1')))).toEqual(old)
    expect(store.own('x')?.type).toBe('dir')
    expect(store.own('x.sync-conflict-1')?.type).toBe('file')
    expect(copies).toEqual(['x -> x.sync-conflict-1'])
  })

  it('a write landing while the losing version is moved aside is kept: the scanner reads the copy again', async () => {
    const old = randomBytes(4 * 1024, 15)
    await put('w.txt', old)
    await scan()
    const local = store.own('w.txt')!
    const c = await applier([])
    // the user's program opened the file before the move and writes into it while it moves: the
    // write lands just after the applier checked the disk (its second look at our record's stat)
    let looks = 0
    c.store = new Proxy(store, {
      get (target, prop, receiver) {
        if (prop !== 'meta') return Reflect.get(target, prop, receiver)
        return (path: string) => {
          if (path === 'w.txt' && ++looks === 2) writeFileSync(join(root, 'w.txt'), 'written while it moved, another size')
          return target.meta(path)
        }
      }
    })
    let rescans = 0
    c.onLocalChange = () => { rescans++ }
    const conflictPath = 'w.sync-conflict-1.txt'
    const winner = randomBytes(1000, 16)
    c.fetchBlocks = async (_r, wanted, onBlock) => { for (const w of wanted) await onBlock(w.cid, winner) }
    await applyAction({ kind: 'conflict', path: 'w.txt', record: peerVersion('w.txt', [ref(winner)], 1), conflictPath, local }, c, base('w.txt'))

    expect(looks).toBeGreaterThanOrEqual(2)
    expect(rescans).toBe(1)
    expect(await readFile(join(root, conflictPath), 'utf8')).toBe('written while it moved, another size')
    // the copy's record still names the blocks it was made from, but not the stat of what is there
    // now: the next scan reads it and records the write as a new version of the copy
    expect(store.own(conflictPath)?.blocks).toEqual(local.blocks)
    await scan()
    expect(cids(store.own(conflictPath))).toEqual(await blocksOf(join(root, conflictPath)))
    expect(store.own(conflictPath)?.size).toBe('written while it moved, another size'.length)
  })

  it('a block no one has: the action fails, the target keeps its old content, nothing half-written at its name', async () => {
    const old = randomBytes(70 * 1024, 8)
    await put('keep.bin', old)
    await scan()
    const before = store.own('keep.bin')!
    const a = randomBytes(100 * 1024, 9)
    const b = randomBytes(100 * 1024, 10)
    const c = await applier([a]) // b is missing
    const record = peerVersion('keep.bin', [ref(a), ref(b)], 1)
    await expect(applyAction({ kind: 'fetch', path: 'keep.bin', record }, c, base('keep.bin'))).rejects.toThrow(BlocksUnavailableError)

    expect(new Uint8Array(await readFile(join(root, 'keep.bin')))).toEqual(old)
    expect(store.own('keep.bin')).toEqual(before)
    expect(await listTrash(root)).toEqual([])
    expect((await readdir(root)).sort()).toEqual(['.ferry', 'keep.bin'])
  })

  it('a local copy whose bytes fail verification is not installed: nothing at the target', async () => {
    const local = randomBytes(200 * 1024, 13)
    await put('src.bin', local)
    await scan()
    const own = store.own('src.bin')!
    // changed behind the store's back (same size): every local copy of its blocks is wrong now
    await writeFile(join(root, 'src.bin'), randomBytes(200 * 1024, 14))
    const c = await applier([])
    const record = peerVersion('copy.bin', own.blocks, 1)
    await expect(applyAction({ kind: 'fetch', path: 'copy.bin', record }, c, 0)).rejects.toThrow(BlocksUnavailableError)
    await expect(lstat(join(root, 'copy.bin'))).rejects.toMatchObject({ code: 'ENOENT' })
    expect(store.own('copy.bin')).toBeUndefined()
  })

  it('a local edit since the scan is not overwritten (LocalChangeError)', async () => {
    await put('edited.txt', 'scanned')
    await scan()
    await writeFile(join(root, 'edited.txt'), 'edited after the scan, longer')
    const next = randomBytes(2000, 11)
    const c = await applier([next])
    const record = peerVersion('edited.txt', [ref(next)], 1)
    await expect(applyAction({ kind: 'fetch', path: 'edited.txt', record }, c, base('edited.txt'))).rejects.toThrow(LocalChangeError)
    expect(await readFile(join(root, 'edited.txt'), 'utf8')).toBe('edited after the scan, longer')
  })

  it('a plan made against an older record of ours is stale (StalePlanError), and nothing changes', async () => {
    await put('s.txt', 'one')
    await scan()
    const next = randomBytes(2000, 12)
    const c = await applier([next])
    const record = peerVersion('s.txt', [ref(next)], 1)
    await expect(applyAction({ kind: 'fetch', path: 's.txt', record }, c, base('s.txt') - 1)).rejects.toThrow(StalePlanError)
    expect(await readFile(join(root, 's.txt'), 'utf8')).toBe('one')
  })
})
