import { describe, expect, it } from 'vitest'
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { blockCid } from '../../src/hashing/block-cid.ts'
import { dominates } from '../../src/model/version-vector.ts'
import type { FileRecord } from '../../src/model/file-record.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { LocalChange } from '../../src/store/folder-store.ts'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { T2, T3, batches, blocksOf, cids, commit, committedPaths, countingReader, dir, forgetBatches, key, put, randomBytes, root, scan, store, useScannerFixture } from '../helpers/scanner-fixture.ts'

// scanFolder: deletes, partial (watcher-driven) scans, stale changes
useScannerFixture()

describe('scanFolder: deletes and partial scans', () => {
  it('a full scan tombstones a removed file and every entry of a removed directory tree', async () => {
    await put('keep.txt', 'keep')
    await put('gone.txt', 'gone')
    await put('tree/x.txt', 'x')
    await put('tree/sub/y.txt', 'y')
    await mkdir(join(root, 'tree/sub/empty'))
    await scan()
    const before = store.ownRecords()
    forgetBatches()

    await rm(join(root, 'gone.txt'))
    await rm(join(root, 'tree'), { recursive: true })
    await scan()

    const gone = ['gone.txt', 'tree', 'tree/sub', 'tree/sub/empty', 'tree/sub/y.txt', 'tree/x.txt']
    expect(committedPaths()).toEqual(gone)
    for (const path of gone) {
      const r = store.own(path)!
      const old = before.get(path)!
      expect(r.deleted, path).toBe(true)
      expect(r.type, path).toBe(old.type)
      expect(r.blocks, path).toEqual([])
      expect(r.seq, path).toBeGreaterThan(old.seq)
      expect(dominates(r.version, old.version), path).toBe(true)
      expect(store.meta(path), path).toBeUndefined()
    }
    expect(store.own('keep.txt')).toEqual(before.get('keep.txt'))

    // a tombstone is not repeated
    forgetBatches()
    await scan()
    expect(batches).toEqual([])
  })

  it('a partial scan of a removed directory tombstones its whole subtree and nothing else', async () => {
    await put('gone-dir/a.txt', 'a')
    await put('gone-dir/deeper/b.txt', 'b')
    await put('gone-dirt.txt', 'sibling with a common prefix')
    await put('other.txt', 'removed but not reported')
    await scan()
    const before = store.ownRecords()
    forgetBatches()

    await rm(join(root, 'gone-dir'), { recursive: true })
    await rm(join(root, 'other.txt'))
    await scan({ paths: ['gone-dir'] })

    const gone = ['gone-dir', 'gone-dir/a.txt', 'gone-dir/deeper', 'gone-dir/deeper/b.txt']
    expect(committedPaths()).toEqual(gone)
    for (const path of gone) {
      const r = store.own(path)!
      expect(r.deleted, path).toBe(true)
      expect(r.type, path).toBe(before.get(path)!.type)
      expect(dominates(r.version, before.get(path)!.version), path).toBe(true)
    }
    expect(store.own('gone-dirt.txt')).toEqual(before.get('gone-dirt.txt'))
    expect(store.own('other.txt')).toEqual(before.get('other.txt'))
  })

  it('a partial scan of a new directory walks it and records everything inside', async () => {
    await put('old.txt', 'old')
    await scan()
    forgetBatches()

    await put('fresh/a.txt', 'a')
    await put('fresh/deep/b.bin', randomBytes(100 * 1024, 9))
    await mkdir(join(root, 'fresh/deep/empty'))
    await put('unreported.txt', 'not in paths')
    const result = await scan({ paths: ['fresh'] })

    expect(committedPaths()).toEqual(['fresh', 'fresh/a.txt', 'fresh/deep', 'fresh/deep/b.bin', 'fresh/deep/empty'])
    expect(store.own('fresh')!.type).toBe('dir')
    expect(store.own('fresh/deep/empty')!.type).toBe('dir')
    expect(cids(store.own('fresh/deep/b.bin'))).toEqual(await blocksOf(join(root, 'fresh/deep/b.bin')))
    expect(store.own('unreported.txt')).toBeUndefined()
    expect(result.unstable).toEqual([])
  })

  it('a partial scan of a changed file records only that file', async () => {
    await put('a.txt', 'a')
    await put('b.txt', 'b')
    await scan()
    forgetBatches()

    await put('a.txt', 'a changed', T2)
    await put('b.txt', 'b changed', T2)
    const reads: string[] = []
    await scan({ paths: ['a.txt'], readBlocks: countingReader(reads) })

    expect(reads).toEqual(['a.txt'])
    expect(committedPaths()).toEqual(['a.txt'])
    expect(store.own('a.txt')!.size).toBe('a changed'.length)
  })

  // regression: the records below a directory replaced by a file are tombstoned too
  it('a partial scan of a directory replaced by a file tombstones what was below it', async () => {
    await put('x/a.txt', 'a')
    await scan()

    await rm(join(root, 'x'), { recursive: true })
    await put('x', 'now a file')
    await scan({ paths: ['x'] })

    expect(store.own('x')!.type).toBe('file')
    expect(store.own('x/a.txt')!.deleted).toBe(true)
  })
})

describe('scanFolder: stale changes', () => {
  async function peerKey (): Promise<{ key: PrivateKey, id: string }> {
    const k = await generateKeyPair('Ed25519')
    return { key: k, id: peerIdFromPrivateKey(k).toString() }
  }

  /** what the applier would commit when it installs a peer's version of `path` */
  function adoption (path: string, peer: string, own: FileRecord): LocalChange {
    const content = new TextEncoder().encode(`peer's version of ${path}`)
    const remote: FileRecord = {
      folder: 'test',
      device: peer,
      seq: 1,
      path,
      type: 'file',
      size: content.length,
      mode: 0o644,
      mtimeMs: T3 * 1000,
      deleted: false,
      modifiedBy: peer,
      version: { ...own.version, [peer]: 1 },
      blocks: [{ cid: blockCid(content), size: content.length }]
    }
    return { path, type: 'file', size: remote.size, mode: remote.mode, mtimeMs: remote.mtimeMs, deleted: false, blocks: remote.blocks, adopt: remote, base: own.seq }
  }

  it('a modification whose base was overtaken by an adopted record is dropped', async () => {
    const peer = await peerKey()
    await put('a.txt', 'mine')
    await put('b.txt', 'also mine')
    await scan()
    const ownA = store.own('a.txt')!
    const ownB = store.own('b.txt')!

    await put('a.txt', 'mine, edited', T2)
    await put('b.txt', 'also mine, edited', T2)
    let adopted: FileRecord | undefined
    const offered: LocalChange[] = []
    const committed: FileRecord[] = []
    await scan({
      commit: async changes => {
        // the applier installs the peer's version between the scanner's look and its commit
        adopted ??= (await store.commitLocal([adoption('a.txt', peer.id, ownA)]))[0]
        offered.push(...changes)
        const done = await store.commitLocal(changes)
        committed.push(...done)
        return done.length
      }
    })

    expect(offered.map(c => [c.path, c.base])).toEqual([['a.txt', ownA.seq], ['b.txt', ownB.seq]])
    expect(committed.map(r => r.path)).toEqual(['b.txt'])
    expect(adopted).toBeDefined()
    expect(store.own('a.txt')).toEqual(adopted)
    expect(store.own('a.txt')!.modifiedBy).toBe(peer.id)
  })

  it('a tombstone whose base was overtaken by an adopted record is dropped', async () => {
    const peer = await peerKey()
    await put('gone.txt', 'mine')
    await scan()
    const own = store.own('gone.txt')!

    await rm(join(root, 'gone.txt'))
    let adopted: FileRecord | undefined
    const offered: LocalChange[] = []
    await scan({
      commit: async changes => {
        adopted ??= (await store.commitLocal([adoption('gone.txt', peer.id, own)]))[0]
        offered.push(...changes)
        await store.commitLocal(changes)
      }
    })

    expect(offered.map(c => [c.path, c.deleted, c.base])).toEqual([['gone.txt', true, own.seq]])
    expect(store.own('gone.txt')).toEqual(adopted)
    expect(store.own('gone.txt')!.deleted).toBe(false)
  })
})
