import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { FolderStore, type LocalChange } from '../../src/store/folder-store.ts'
import { signRecord } from '../../src/log/signed-record.ts'
import type { BlockRef } from '../../src/model/file-record.ts'
import { SegmentIndex } from '../../protocols/index/segment-index.ts'
import { segmentRecord, segmentId, hexOf } from '../../protocols/index/block-list-segments.ts'
import { fileRecordOf, syntheticBlock, syntheticBlocks } from '../helpers/synthetic-records.ts'

let dir: string
let db: ClassicLevel<string, Uint8Array>

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-segment-index-'))
  db = new ClassicLevel<string, Uint8Array>(dir, { valueEncoding: 'view' })
  await db.open()
})

afterEach(async () => {
  await db.close()
  await rm(dir, { recursive: true, force: true })
})

const change = (path: string, blocks: readonly BlockRef[]): LocalChange =>
  ({ path, type: 'file', size: blocks.reduce((n, b) => n + b.size, 0), mode: 0o644, mtimeMs: 1_767_225_600_000, deleted: false, blocks })

describe('segment index of a folder store', () => {
  it('finds segments of any device\'s records of any path, follows changes, and forgets superseded ones', async () => {
    const keyA = await generateKeyPair('Ed25519')
    const keyB = await generateKeyPair('Ed25519')
    const idA = peerIdFromPrivateKey(keyA).toString()
    const idB = peerIdFromPrivateKey(keyB).toString()
    const store = new FolderStore({ db: db.sublevel<string, Uint8Array>('f', { valueEncoding: 'view' }), folder: 'docs', self: idA, key: keyA })
    await store.open()
    const index = new SegmentIndex(store)

    const mine = syntheticBlocks(1_000, 'mine')
    const [own] = await store.commitLocal([change('mine.bin', mine), change('small.txt', syntheticBlocks(3, 'small'))])
    const theirs = await signRecord(fileRecordOf(syntheticBlocks(1_000, 'theirs'), { folder: 'docs', device: idB, seq: 1, path: 'elsewhere/theirs.bin' }), keyB)
    await store.acceptRemote([theirs])

    const ownCut = segmentRecord(store.signedOf('mine.bin')[0]!.bytes, own!.blocks)!
    const theirCut = segmentRecord(theirs.bytes, theirs.record.blocks)!
    expect(index.size).toBe(ownCut.segments.length + theirCut.segments.length)
    for (const s of [...ownCut.segments, ...theirCut.segments]) {
      const bytes = index.get(s.id)
      expect(bytes).toBeDefined()
      expect(hexOf(segmentId(bytes!))).toBe(hexOf(s.id))
    }
    expect(index.get(new Uint8Array(32))).toBeUndefined()

    // our file edited: its new segments are found, those only the old version had are gone
    const edited = [...mine]
    for (let i = 500; i < 504; i++) edited[i] = syntheticBlock(`edit/${i}`)
    const [next] = await store.commitLocal([change('mine.bin', edited)])
    const nextCut = segmentRecord(store.signedOf('mine.bin')[0]!.bytes, next!.blocks)!
    const now = new Set(nextCut.segments.map(s => hexOf(s.id)))
    const dropped = ownCut.segments.filter(s => !now.has(hexOf(s.id)))
    expect(dropped.length).toBeGreaterThanOrEqual(1)
    for (const s of dropped) expect(index.get(s.id)).toBeUndefined()
    for (const s of nextCut.segments) expect(index.get(s.id)).toBeDefined()

    // a copy keeps shared segments alive when the original is deleted
    await store.commitLocal([change('copy.bin', edited)])
    await store.commitLocal([{ ...change('mine.bin', []), size: 0, deleted: true }])
    for (const s of nextCut.segments) expect(index.get(s.id)).toBeDefined()
    await store.commitLocal([{ ...change('copy.bin', []), size: 0, deleted: true }])
    for (const s of nextCut.segments) expect(index.get(s.id)).toBeUndefined()
    expect(index.size).toBe(theirCut.segments.length)
  })
})
