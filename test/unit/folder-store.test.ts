import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { FolderStore, type FolderDb, type LocalChange, type LocalMeta } from '../../src/store/folder-store.ts'
import { signRecord, type SignedRecord } from '../../src/log/signed-record.ts'
import { blockCid } from '../../src/hashing/block-cid.ts'
import { dominates } from '../../src/model/version-vector.ts'
import type { BlockRef, FileRecord } from '../../src/model/file-record.ts'

const FOLDER = 'test'

interface Device { key: PrivateKey, id: string }

async function device (): Promise<Device> {
  const key = await generateKeyPair('Ed25519')
  return { key, id: peerIdFromPrivateKey(key).toString() }
}

function block (fill: number, size: number): BlockRef {
  return { cid: blockCid(new Uint8Array(size).fill(fill)), size }
}

const A = block(1, 100)
const B = block(2, 250)
const C = block(3, 40)

function fileChange (path: string, blocks: readonly BlockRef[] = [A], extra: Partial<LocalChange> = {}): LocalChange {
  return {
    path,
    type: 'file',
    size: blocks.reduce((n, b) => n + b.size, 0),
    mode: 0o644,
    mtimeMs: 1_700_000_000_000,
    deleted: false,
    blocks,
    ...extra
  }
}

function tombstone (path: string, extra: Partial<LocalChange> = {}): LocalChange {
  return { path, type: 'file', size: 0, mode: 0o644, mtimeMs: 1_700_000_000_000, deleted: true, blocks: [], meta: null, ...extra }
}

function remoteRecord (dev: Device, seq: number, path: string, extra: Partial<FileRecord> = {}): FileRecord {
  const blocks = extra.blocks ?? [B]
  return {
    folder: FOLDER,
    device: dev.id,
    seq,
    path,
    type: 'file',
    size: blocks.reduce((n, b) => n + b.size, 0),
    mode: 0o644,
    mtimeMs: 1_700_000_000_000 + seq,
    deleted: false,
    modifiedBy: dev.id,
    version: { [dev.id]: seq },
    blocks,
    ...extra
  }
}

async function signed (dev: Device, seq: number, path: string, extra: Partial<FileRecord> = {}): Promise<SignedRecord> {
  return await signRecord(remoteRecord(dev, seq, path, extra), dev.key)
}

function meta (ino: number, size: number): LocalMeta {
  return { ino, size, mtimeNs: '1700000000000000000', mode: 0o644 }
}

async function collect (it: AsyncIterable<SignedRecord>): Promise<FileRecord[]> {
  const out: FileRecord[] = []
  for await (const s of it) out.push(s.record)
  return out
}

function locations (store: FolderStore, ref: BlockRef): Array<{ path: string, offset: number, size: number }> {
  return [...store.blockLocations(ref.cid)].sort((x, y) => x.path < y.path ? -1 : x.path > y.path ? 1 : x.offset - y.offset)
}

let dir: string
let db: ClassicLevel<string, Uint8Array>
let me: Device
let store: FolderStore

function subOf (level: ClassicLevel<string, Uint8Array>): FolderDb {
  return level.sublevel<string, Uint8Array>('f:test', { valueEncoding: 'view' }) as unknown as FolderDb
}

async function openDb (): Promise<void> {
  db = new ClassicLevel<string, Uint8Array>(join(dir, 'db'), { valueEncoding: 'view' })
  await db.open()
}

async function openStore (): Promise<FolderStore> {
  const s = new FolderStore({ db: subOf(db), folder: FOLDER, self: me.id, key: me.key })
  await s.open()
  return s
}

/** a daemon restart: the database is closed and opened again, the store rebuilt from it */
async function restart (): Promise<FolderStore> {
  await db.close()
  await openDb()
  return await openStore()
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-store-'))
  await openDb()
  me = await device()
  store = await openStore()
})

afterEach(async () => {
  if (db.status === 'open') await db.close()
  await rm(dir, { recursive: true, force: true })
})

describe('FolderStore.commitLocal', () => {
  it('assigns increasing seqs and bumps our version counter to the seq', async () => {
    const first = await store.commitLocal([fileChange('a'), fileChange('b')])
    expect(first.map(r => [r.path, r.seq, r.version])).toEqual([['a', 1, { [me.id]: 1 }], ['b', 2, { [me.id]: 2 }]])
    expect(first.every(r => r.device === me.id && r.modifiedBy === me.id && r.folder === FOLDER)).toBe(true)

    const second = await store.commitLocal([fileChange('a', [B])])
    expect(second.map(r => [r.path, r.seq, r.version])).toEqual([['a', 3, { [me.id]: 3 }]])
    expect(store.own('a')).toEqual(second[0])
    expect(store.position(me.id)).toBe(3)
  })

  it('keeps the other devices\' counters when bumping', async () => {
    const peer = await device()
    const theirs = remoteRecord(peer, 7, 'a', { version: { [peer.id]: 7 } })
    await store.commitLocal([{ ...fileChange('a', [B]), adopt: theirs }])
    const [mine] = await store.commitLocal([fileChange('a', [C])])
    expect(mine!.version).toEqual({ [peer.id]: 7, [me.id]: 2 })
    expect(mine!.modifiedBy).toBe(me.id)
  })

  it('an adopt change takes the adopted record\'s version and modifiedBy', async () => {
    const peer = await device()
    await store.commitLocal([fileChange('x'), fileChange('a')])
    const theirs = remoteRecord(peer, 4, 'a', { version: { [me.id]: 2, [peer.id]: 4 } })
    const [adopted] = await store.commitLocal([{ ...fileChange('a', [B]), adopt: theirs }])
    expect(adopted!.device).toBe(me.id)
    expect(adopted!.seq).toBe(3)
    expect(adopted!.version).toEqual({ [me.id]: 2, [peer.id]: 4 })
    expect(adopted!.modifiedBy).toBe(peer.id)
    expect(store.own('a')).toEqual(adopted)
  })

  it('the same path twice in one batch: the second version dominates the first', async () => {
    await store.commitLocal([fileChange('a')])
    const out = await store.commitLocal([fileChange('a', [B]), fileChange('a', [C])])
    expect(out.map(r => r.seq)).toEqual([2, 3])
    expect(dominates(out[1]!.version, out[0]!.version)).toBe(true)
    expect(store.own('a')).toEqual(out[1])
  })

  it('drops a change whose base is not our current record of the path, and commits the rest', async () => {
    const [a] = await store.commitLocal([fileChange('a')])
    await store.commitLocal([fileChange('a', [B])])
    const out = await store.commitLocal([fileChange('a', [C], { base: a!.seq }), fileChange('new', [C], { base: 0 }), fileChange('b', [C], { base: 5 })])
    expect(out.map(r => r.path)).toEqual(['new'])
    expect(out[0]!.seq).toBe(3)
    expect(cidsOf(store.own('a'))).toEqual([B.cid.toString()])
    expect(store.own('b')).toBeUndefined()
  })

  it('notifies onChange with the committed paths', async () => {
    const seen: string[][] = []
    const off = store.onChange(paths => seen.push([...paths]))
    await store.commitLocal([fileChange('a'), fileChange('b')])
    await store.commitLocal([fileChange('a', [B], { base: 99 })])
    off()
    await store.commitLocal([fileChange('c')])
    expect(seen).toEqual([['a', 'b']])
  })

  it('keeps only the newest record per path in the database', async () => {
    await store.commitLocal([fileChange('a'), fileChange('b'), fileChange('c')])
    await store.commitLocal([fileChange('a', [B])])
    await store.commitLocal([fileChange('b', [B]), fileChange('b', [C]), tombstone('c')])
    const newest = store.ownRecords()

    const reopened = await openStore()
    expect(reopened.ownRecords()).toEqual(newest)
    const logged = await collect(reopened.recordsAfter(me.id, 0))
    expect(logged.map(r => [r.path, r.seq])).toEqual([['a', 4], ['b', 6], ['c', 7]])
    expect(reopened.positionVector()).toEqual({ [me.id]: 7 })
  })
})

function cidsOf (r: FileRecord | undefined): string[] {
  return (r?.blocks ?? []).map(b => b.cid.toString())
}

describe('FolderStore.acceptRemote', () => {
  it('keeps only the newest record per (device, path), ignoring older and equal seqs', async () => {
    const peer = await device()
    expect(await store.acceptRemote([await signed(peer, 2, 'p'), await signed(peer, 3, 'q')])).toBe(2)
    expect(await store.acceptRemote([await signed(peer, 1, 'p')])).toBe(0)
    expect(await store.acceptRemote([await signed(peer, 2, 'p', { mtimeMs: 5 })])).toBe(0)
    expect(store.remoteOf('p')).toEqual([remoteRecord(peer, 2, 'p')])

    expect(await store.acceptRemote([await signed(peer, 5, 'p')])).toBe(1)
    expect(store.remoteOf('p')).toEqual([remoteRecord(peer, 5, 'p')])
    // the superseded record is gone from the database too
    const logged = await collect(store.recordsAfter(peer.id, 0))
    expect(logged.map(r => [r.path, r.seq])).toEqual([['q', 3], ['p', 5]])
  })

  it('keeps one record per device for the same path', async () => {
    const peer1 = await device()
    const peer2 = await device()
    await store.acceptRemote([await signed(peer1, 1, 'p'), await signed(peer2, 1, 'p')])
    expect(store.remoteOf('p').map(r => r.device).sort()).toEqual([peer1.id, peer2.id].sort())
    expect(store.remoteOf('p', d => d === peer2.id).map(r => r.device)).toEqual([peer2.id])
  })

  it('ignores records of our own device and of other folders', async () => {
    const peer = await device()
    const mine = await signRecord(remoteRecord(me, 1, 'p'), me.key)
    const otherFolder = await signed(peer, 1, 'q', { folder: 'other' })
    expect(await store.acceptRemote([mine, otherFolder])).toBe(0)
    expect(store.own('p')).toBeUndefined()
    expect(store.remoteOf('q')).toEqual([])
    expect(store.positionVector()).toEqual({})
    // and our own log still starts at 1
    const [r] = await store.commitLocal([fileChange('p')])
    expect(r!.seq).toBe(1)
  })

  it('notifies onChange with the paths of the new records only', async () => {
    const peer = await device()
    const seen: string[][] = []
    store.onChange(paths => seen.push([...paths]))
    await store.acceptRemote([await signed(peer, 1, 'p'), await signed(peer, 2, 'q')])
    await store.acceptRemote([await signed(peer, 1, 'p')])
    await store.acceptRemote([await signed(peer, 2, 'q'), await signed(peer, 3, 'r')])
    expect(seen).toEqual([['p', 'q'], ['r']])
  })

  it('positionVector holds the highest seq per device', async () => {
    const peer1 = await device()
    const peer2 = await device()
    await store.commitLocal([fileChange('a'), fileChange('b')])
    await store.acceptRemote([await signed(peer1, 3, 'p'), await signed(peer1, 9, 'q'), await signed(peer2, 4, 'p')])
    await store.acceptRemote([await signed(peer1, 5, 'r')])
    expect(store.positionVector()).toEqual({ [me.id]: 2, [peer1.id]: 9, [peer2.id]: 4 })
    expect(store.position(peer1.id)).toBe(9)
    expect(store.position('nobody')).toBe(0)
    expect(store.devices().sort()).toEqual([me.id, peer1.id, peer2.id].sort())
  })

  it('recordsAfter(device, n) yields that device\'s records with seq > n, ascending', async () => {
    const peer1 = await device()
    const peer2 = await device()
    // out of order, across paths; seq 10 crosses a digit boundary
    await store.acceptRemote([
      await signed(peer1, 10, 'j'), await signed(peer1, 2, 'b'), await signed(peer1, 7, 'g'),
      await signed(peer1, 1, 'a'), await signed(peer2, 3, 'c'), await signed(peer2, 8, 'h')
    ])
    expect((await collect(store.recordsAfter(peer1.id, 0))).map(r => r.seq)).toEqual([1, 2, 7, 10])
    expect((await collect(store.recordsAfter(peer1.id, 2))).map(r => r.seq)).toEqual([7, 10])
    expect((await collect(store.recordsAfter(peer1.id, 10))).map(r => r.seq)).toEqual([])
    expect((await collect(store.recordsAfter(peer2.id, 3))).map(r => [r.device, r.seq])).toEqual([[peer2.id, 8]])
  })

  // regression: only the newest of several records of one (device, path) in a batch is stored
  it('one batch with two records of the same (device, path) stores only the newer', async () => {
    const peer = await device()
    const n = await store.acceptRemote([await signed(peer, 1, 'p'), await signed(peer, 2, 'p')])
    const logged = await collect(store.recordsAfter(peer.id, 0))
    expect(logged.map(r => r.seq)).toEqual([2])
    expect(n).toBe(1)
  })
})

describe('FolderStore.blockLocations', () => {
  it('maps the blocks of our live files to (path, offset, size), a repeated block once per occurrence', async () => {
    await store.commitLocal([fileChange('f', [A, B, A]), fileChange('g', [B]), { path: 'd', type: 'dir', size: 0, mode: 0o755, mtimeMs: 1, deleted: false, blocks: [] }])
    expect(locations(store, A)).toEqual([
      { path: 'f', offset: 0, size: 100 },
      { path: 'f', offset: 350, size: 100 }
    ])
    expect(locations(store, B)).toEqual([
      { path: 'f', offset: 100, size: 250 },
      { path: 'g', offset: 0, size: 250 }
    ])
    expect(locations(store, C)).toEqual([])
  })

  it('forgets a file\'s blocks when it is deleted or changed', async () => {
    await store.commitLocal([fileChange('f', [A, B, A]), fileChange('g', [B])])
    await store.commitLocal([tombstone('f')])
    expect(locations(store, A)).toEqual([])
    expect(locations(store, B)).toEqual([{ path: 'g', offset: 0, size: 250 }])

    await store.commitLocal([fileChange('g', [C, A])])
    expect(locations(store, B)).toEqual([])
    expect(locations(store, C)).toEqual([{ path: 'g', offset: 0, size: 40 }])
    expect(locations(store, A)).toEqual([{ path: 'g', offset: 40, size: 100 }])
  })

  it('does not index other devices\' blocks', async () => {
    const peer = await device()
    await store.acceptRemote([await signed(peer, 1, 'p', { blocks: [C] })])
    expect(locations(store, C)).toEqual([])
  })

  it('an adopted record\'s blocks are indexed under our copy', async () => {
    const peer = await device()
    const theirs = remoteRecord(peer, 1, 'p', { blocks: [C] })
    await store.commitLocal([{ ...fileChange('p', [C]), adopt: theirs }])
    expect(locations(store, C)).toEqual([{ path: 'p', offset: 0, size: 40 }])
  })
})

describe('FolderStore across a restart', () => {
  it('restores records, positions, metas and the block index', async () => {
    const peer = await device()
    await store.commitLocal([
      fileChange('f', [A, B], { meta: meta(11, 350) }),
      fileChange('g', [B, C], { meta: meta(12, 290) }),
      fileChange('gone', [C], { meta: meta(13, 40) })
    ])
    await store.commitLocal([fileChange('g', [A], { meta: meta(14, 100) }), tombstone('gone')])
    await store.setMeta('f', { ...meta(11, 350), mtimeNs: '1700000000500000000' })
    await store.acceptRemote([await signed(peer, 4, 'p'), await signed(peer, 6, 'q', { deleted: true, blocks: [], size: 0 })])
    const ownBefore = store.ownRecords()
    const remoteBefore = store.remoteRecords()

    const reopened = await restart()

    expect(reopened.ownRecords()).toEqual(ownBefore)
    expect(reopened.remoteRecords()).toEqual(remoteBefore)
    expect(reopened.positionVector()).toEqual({ [me.id]: 5, [peer.id]: 6 })
    expect(reopened.meta('f')).toEqual({ ...meta(11, 350), mtimeNs: '1700000000500000000' })
    expect(reopened.meta('g')).toEqual(meta(14, 100))
    expect(reopened.meta('gone')).toBeUndefined()
    expect(locations(reopened, A)).toEqual([{ path: 'f', offset: 0, size: 100 }, { path: 'g', offset: 0, size: 100 }])
    expect(locations(reopened, B)).toEqual([{ path: 'f', offset: 100, size: 250 }])
    expect(locations(reopened, C)).toEqual([])
  })

  it('continues our log after the highest seq, even when it is a tombstone', async () => {
    await store.commitLocal([fileChange('a'), fileChange('b')])
    await store.commitLocal([tombstone('b')])
    const reopened = await restart()
    const [r] = await reopened.commitLocal([fileChange('c')])
    expect(r!.seq).toBe(4)
    expect(r!.version).toEqual({ [me.id]: 4 })
  })
})
