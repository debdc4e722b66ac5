import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { FolderStore, type LocalChange } from '../../src/store/folder-store.ts'
import { folderSublevel } from '../../src/store/open-offline.ts'
import { signRecord } from '../../src/log/signed-record.ts'
import { blockCid } from '../../src/hashing/block-cid.ts'
import type { BlockRef, FileRecord } from '../../src/model/file-record.ts'
import { revisionsOf, versionId } from '../../src/history/revisions.ts'

const block = (fill: number): BlockRef => ({ cid: blockCid(new Uint8Array(10).fill(fill)), size: 10 })
const change = (path: string, fill: number, mtimeMs: number): LocalChange => ({ path, type: 'file', size: 10, mode: 0o644, mtimeMs, deleted: false, blocks: [block(fill)] })

describe('record history', () => {
  let dir: string
  let db: ClassicLevel<string, Uint8Array>
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-history-'))
    db = new ClassicLevel<string, Uint8Array>(join(dir, 'db'), { valueEncoding: 'view' })
    await db.open()
  })
  afterEach(async () => {
    await db.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('keeps superseded records of ours and of peers, survives a restart, and forgets them after retention', async () => {
    const me = await generateKeyPair('Ed25519')
    const peer = await generateKeyPair('Ed25519')
    const meId = peerIdFromPrivateKey(me).toString()
    const peerId = peerIdFromPrivateKey(peer).toString()
    let store = new FolderStore({ db: folderSublevel(db, 'f'), folder: 'f', self: meId, key: me })
    await store.open()
    await store.commitLocal([change('a.txt', 1, 1000)])
    // two versions in one batch: the first is superseded within the batch
    await store.commitLocal([change('a.txt', 2, 2000), change('a.txt', 3, 3000)])
    const remote = (seq: number, fill: number): FileRecord => ({ folder: 'f', device: peerId, seq, path: 'a.txt', type: 'file', size: 10, mode: 0o644, mtimeMs: 4000 + seq, deleted: false, modifiedBy: peerId, version: { [peerId]: seq }, blocks: [block(fill)] })
    await store.acceptRemote([await signRecord(remote(1, 7), peer)])
    await store.acceptRemote([await signRecord(remote(5, 8), peer)])

    const history = await store.history('a.txt')
    expect(history.map(h => [h.record.device === meId ? 'me' : 'peer', h.record.seq]).sort()).toEqual([['me', 1], ['me', 2], ['peer', 1]])
    expect(await store.history('other.txt')).toEqual([])

    await db.close()
    db = new ClassicLevel<string, Uint8Array>(join(dir, 'db'), { valueEncoding: 'view' })
    await db.open()
    store = new FolderStore({ db: folderSublevel(db, 'f'), folder: 'f', self: meId, key: me })
    await store.open()
    const revisions = await revisionsOf({ folder: 'f', root: dir, store, members: {} }, 'a.txt')
    expect(revisions).toHaveLength(5)
    expect(revisions[0]).toMatchObject({ versionId: versionId(remote(5, 8)), current: true, device: peerId })
    expect(new Set(revisions.map(r => r.versionId)).size).toBe(5)

    expect(await store.pruneHistory(Date.now() + 1)).toBe(3)
    expect(await store.history('a.txt')).toEqual([])
    expect(await revisionsOf({ folder: 'f', root: dir, store, members: {} }, 'a.txt')).toHaveLength(2)
  })
})
