import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { ClassicLevel } from 'classic-level'
import { streamPair } from '@libp2p/utils'
import { logger } from '@libp2p/logger'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey, Stream } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { serveIndex, subscribeIndex } from '../../protocols/index/index-protocol.ts'
import { INDEX_PROTOCOL_V1, INDEX_PROTOCOL_V2, INDEX_PROTOCOL_V3 } from '../../protocols/index/constants.ts'
import { serveBlocks, fetchBlocks, CorruptBlockError } from '../../protocols/blocks/blocks-protocol.ts'
import { BLOCKS_PROTOCOL_V1, BLOCKS_PROTOCOL_V2, BLOCKS_PROTOCOL_V3 } from '../../protocols/blocks/constants.ts'
import { contiguous } from '../../protocols/blocks/block-bytes.ts'
import { FolderStore, type LocalChange } from '../../src/store/folder-store.ts'
import { openSignedRecord } from '../../src/log/signed-record.ts'
import { blockCid, blockHashOf, cidKey, type BlockHash } from '../../src/hashing/block-cid.ts'
import type { FileRecord } from '../../src/model/file-record.ts'
import { rejection } from '../helpers/async-checks.ts'

// Records and blocks named by blake3 next to peers that only know sha2-256 (index/1 and /2,
// blocks/1 and /2): those peers are never sent what they would refuse, and still get the rest.
const FOLDER = 'folder-hashes'
const log = logger('test')

let keyA: PrivateKey
let idA: string
let idB: string
let dir: string
let db: ClassicLevel<string, Uint8Array>
let storeA: FolderStore

function fileChange (path: string, hashes: BlockHash[]): LocalChange {
  const blocks = hashes.map(hash => {
    const data = new Uint8Array(randomBytes(64))
    return { cid: blockCid(data, hash), size: data.byteLength }
  })
  return { path, type: 'file', size: blocks.reduce((n, b) => n + b.size, 0), mode: 0o644, mtimeMs: 1_700_000_000_000, deleted: false, blocks }
}

beforeEach(async () => {
  if (keyA === undefined) {
    keyA = await generateKeyPair('Ed25519')
    idA = peerIdFromPrivateKey(keyA).toString()
    idB = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  }
  dir = await mkdtemp(join(tmpdir(), 'ferry-hash-versions-'))
  db = new ClassicLevel<string, Uint8Array>(dir, { valueEncoding: 'view' })
  await db.open()
  storeA = new FolderStore({ db: db.sublevel<string, Uint8Array>('f:test', { valueEncoding: 'view' }), folder: FOLDER, self: idA, key: keyA })
  await storeA.open()
})

afterEach(async () => {
  await db.close()
  await rm(dir, { recursive: true, force: true })
})

/** subscribes over `protocol` until the first `synced`; the records received, then ends the stream */
async function firstSync (protocol: string): Promise<FileRecord[]> {
  const [client, server] = await streamPair()
  const served = serveIndex(server, idB, { folderStore: (peer, f) => peer === idB && f === FOLDER ? storeA : undefined, log }, { protocol })
  const records: FileRecord[] = []
  let synced!: () => void
  const syncedOnce = new Promise<void>(resolve => { synced = resolve })
  const done = subscribeIndex(client, FOLDER, {}, {
    onRecords: async list => { for (const [bytes, sig] of list) records.push((await openSignedRecord(bytes, sig)).record) },
    onSynced: () => synced()
  }, { protocol }).catch((err: unknown) => err)
  await syncedOnce
  client.abort(new Error('test over'))
  await done
  await served
  return records
}

describe('block hashes across index versions', () => {
  it('index/3 carries records naming blake3 blocks, sha2-256 blocks and both', async () => {
    await storeA.commitLocal([fileChange('old.bin', ['sha2-256', 'sha2-256'])])
    await storeA.commitLocal([fileChange('new.bin', ['blake3'])])
    await storeA.commitLocal([fileChange('mixed.bin', ['sha2-256', 'blake3'])])
    const records = await firstSync(INDEX_PROTOCOL_V3)
    expect(records.map(r => r.path)).toEqual(['old.bin', 'new.bin', 'mixed.bin'])
    expect(records[2]!.blocks.map(b => blockHashOf(b.cid))).toEqual(['sha2-256', 'blake3'])
  })

  for (const protocol of [INDEX_PROTOCOL_V2, INDEX_PROTOCOL_V1]) {
    it(`${protocol}: the log stops before the first record naming a blake3 block; the peer is still synced`, async () => {
      await storeA.commitLocal([fileChange('old.bin', ['sha2-256'])])
      await storeA.commitLocal([fileChange('new.bin', ['sha2-256', 'blake3'])])
      await storeA.commitLocal([fileChange('later.bin', ['sha2-256'])])
      const records = await firstSync(protocol)
      // later.bin is held back too: a peer's position in a log is one seq, so nothing after a
      // record it cannot read may go first (it gets them all once it speaks index/3)
      expect(records.map(r => r.path)).toEqual(['old.bin'])
    })
  }
})

describe('block hashes across blocks versions', () => {
  const blocks = (['sha2-256', 'blake3', 'sha2-256', 'blake3'] as const).map(hash => {
    const data = new Uint8Array(randomBytes(100_000))
    return { cid: blockCid(data, hash), data }
  })
  const held = new Map(blocks.map(b => [cidKey(b.cid), b.data]))
  const wanted = blocks.map(b => ({ cid: b.cid, size: b.data.byteLength }))

  async function fetchOver (protocol: string): Promise<{ got: CID[], missing: CID[], asked: CID[] }> {
    const [client, server] = await streamPair()
    client.protocol = protocol
    server.protocol = protocol
    const asked: CID[] = []
    const served = serveBlocks(server, 'peer-B', { mayRead: () => true, readBlock: async (_f, cid) => { asked.push(cid); return held.get(cidKey(cid)) }, log })
    const got: CID[] = []
    const missing = await fetchBlocks(client, FOLDER, wanted, {
      onBlock: async (cid, data) => {
        expect(Buffer.from(contiguous(data)).equals(held.get(cidKey(cid))!)).toBe(true)
        got.push(cid)
      }
    })
    await served
    return { got, missing, asked }
  }

  it('blocks/3 fetches blake3 and sha2-256 blocks alike, each verified with its own hash', async () => {
    const { got, missing } = await fetchOver(BLOCKS_PROTOCOL_V3)
    expect(missing).toEqual([])
    expect(got.map(c => c.toString())).toEqual(blocks.map(b => b.cid.toString()))
  })

  for (const protocol of [BLOCKS_PROTOCOL_V2, BLOCKS_PROTOCOL_V1]) {
    it(`${protocol}: blake3 blocks are not asked for (the peer would refuse the want) but reported missing; sha2-256 ones arrive`, async () => {
      const { got, missing, asked } = await fetchOver(protocol)
      const sha = blocks.filter(b => blockHashOf(b.cid) === 'sha2-256').map(b => b.cid.toString())
      expect(got.map(c => c.toString())).toEqual(sha)
      expect(asked.map(c => c.toString())).toEqual(sha)
      expect(missing.map(c => c.toString()).sort()).toEqual(blocks.filter(b => blockHashOf(b.cid) === 'blake3').map(b => b.cid.toString()).sort())
    })
  }

  it('a block whose bytes do not match its blake3 CID is refused (CorruptBlockError), before anyone sees it', async () => {
    const b3 = blocks[1]!
    const [client, server] = await streamPair()
    const bad = Buffer.from(b3.data)
    bad[50_000] = bad[50_000]! ^ 0x80
    const served = serveBlocks(server, 'peer-B', { mayRead: () => true, readBlock: async () => bad, log }).catch(() => {})
    const seen: CID[] = []
    const err = await rejection(fetchBlocks(client, FOLDER, [{ cid: b3.cid, size: b3.data.byteLength }], { onBlock: async cid => { seen.push(cid) } }))
    expect(err).toBeInstanceOf(CorruptBlockError)
    expect(seen).toEqual([])
    await served
  })
})
