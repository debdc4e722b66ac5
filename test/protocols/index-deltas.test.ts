import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { decode, encode } from 'cborg'
import type { Libp2p } from 'libp2p'
import { startRogueNode } from '../helpers/in-process-nodes.ts'
import { logger } from '@libp2p/logger'
import { lpStream } from '@libp2p/utils'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey, Stream } from '@libp2p/interface'
import { serveIndex, subscribeIndex } from '../../protocols/index/index-protocol.ts'
import { INDEX_PROTOCOL_V1, INDEX_PROTOCOL_V2, INDEX_PROTOCOL_V3, INDEX_PROTOCOLS } from '../../protocols/index/constants.ts'
import { SegmentIndex } from '../../protocols/index/segment-index.ts'
import { segmentRecord } from '../../protocols/index/block-list-segments.ts'
import type { DeltaBatchStats } from '../../protocols/index/record-delta.ts'
import { InvalidMessageError } from '../../protocols/wire/errors.ts'
import { FolderStore, type LocalChange } from '../../src/store/folder-store.ts'
import { encodeRecord } from '../../src/log/record-codec.ts'
import { ForgedRecordError, openSignedRecord, signRecord } from '../../src/log/signed-record.ts'
import type { BlockRef } from '../../src/model/file-record.ts'
import { fileRecordOf, syntheticBlock, syntheticBlocks } from '../helpers/synthetic-records.ts'

/**
 * /ferry/index/2 between two real libp2p nodes (TCP on loopback, Noise, Yamux): a record with a
 * long block list travels as a skeleton, and a changed version costs only its changed segments.
 */

const FOLDER = 'docs'
const ENTRIES = 20_000
const log = logger('test:index-deltas')

let keyA: PrivateKey
let keyB: PrivateKey
let idA: string
let idB: string
let dir: string
let db: ClassicLevel<string, Uint8Array>
const cleanups: Array<() => Promise<void>> = []

beforeEach(async () => {
  if (keyA === undefined) {
    keyA = await generateKeyPair('Ed25519')
    keyB = await generateKeyPair('Ed25519')
    idA = peerIdFromPrivateKey(keyA).toString()
    idB = peerIdFromPrivateKey(keyB).toString()
  }
  dir = await mkdtemp(join(tmpdir(), 'ferry-index-deltas-'))
  db = new ClassicLevel<string, Uint8Array>(dir, { valueEncoding: 'view' })
  await db.open()
})

afterEach(async () => {
  for (const fn of cleanups.reverse()) await fn().catch(() => {})
  cleanups.length = 0
  await db.close()
  await rm(dir, { recursive: true, force: true })
})

async function store (name: string, self: string, key: PrivateKey): Promise<FolderStore> {
  const s = new FolderStore({ db: db.sublevel<string, Uint8Array>(name, { valueEncoding: 'view' }), folder: FOLDER, self, key })
  await s.open()
  return s
}

async function node (key: PrivateKey): Promise<Libp2p> {
  return await startRogueNode(key, cleanups)
}

function bigFile (path: string, blocks: readonly BlockRef[]): LocalChange {
  return { path, type: 'file', size: blocks.reduce((n, b) => n + b.size, 0), mode: 0o644, mtimeMs: 1_767_225_600_000, deleted: false, blocks }
}

/** B's subscription to A: verifies and stores like FolderSync.receiveRecords, counts bytes */
class Client {
  received = 0
  sent = 0
  synced = 0
  readonly deltas: DeltaBatchStats[] = []
  readonly done: Promise<unknown>
  protocol = ''

  constructor (stream: Stream, storeB: FolderStore) {
    this.protocol = stream.protocol ?? ''
    this.done = subscribeIndex(stream, FOLDER, storeB.positionVector(), {
      onRecords: async pairs => {
        const checked = await Promise.all(pairs.map(async ([bytes, signature]) => await openSignedRecord(bytes, signature)))
        await storeB.acceptRemote(checked)
      },
      onSynced: () => { this.synced++ },
      segments: new SegmentIndex(storeB),
      onTraffic: (r, s) => { this.received += r; this.sent += s },
      onDeltaBatch: d => { this.deltas.push(d) }
    }).then(() => { throw new Error('subscribeIndex resolved') }, (err: unknown) => err)
  }

  get bytes (): number { return this.received + this.sent }

  async until (what: string, cond: () => boolean, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  }
}

/** A (the server) and B (the client), connected */
async function connectedPair (): Promise<{ a: Libp2p, b: Libp2p }> {
  const a = await node(keyA)
  const b = await node(keyB)
  await b.dial(a.getMultiaddrs()[0]!)
  return { a, b }
}

describe('/ferry/index/2 record deltas between two libp2p nodes', () => {
  it('a changed 20,000-entry record costs a small fraction of the whole; a copy costs only its skeleton', async () => {
    const storeA = await store('a', idA, keyA)
    const storeB = await store('b', idB, keyB)
    const { a, b } = await connectedPair()
    await a.handle([...INDEX_PROTOCOLS], async (stream, connection) => {
      await serveIndex(stream, connection.remotePeer.toString(), { folderStore: (peer, f) => peer === idB && f === FOLDER ? storeA : undefined, log })
    })
    const blocks = syntheticBlocks(ENTRIES, 'big')
    const [first] = await storeA.commitLocal([bigFile('big.bin', blocks)])
    const wholeBytes = encodeRecord(first!).byteLength

    const client = new Client(await b.dialProtocol(a.peerId, [...INDEX_PROTOCOLS]), storeB)
    expect(client.protocol).toBe(INDEX_PROTOCOL_V3) // index/3 is index/2's messages (records may name blake3 blocks)
    await client.until('first sync', () => client.synced === 1)
    const firstBytes = client.bytes
    expect(storeB.signedOf('big.bin')[0]!.record.seq).toBe(first!.seq)
    // B held nothing: every segment was fetched, at a small overhead over the whole record
    expect(client.deltas[0]!.fetched).toBe(client.deltas[0]!.segments)
    expect(firstBytes).toBeGreaterThan(wholeBytes)
    expect(firstBytes).toBeLessThan(wholeBytes * 1.1)

    // 1 MiB overwritten in the middle: 4 blocks replaced
    const edited = [...blocks]
    for (let i = 10_000; i < 10_004; i++) edited[i] = syntheticBlock(`edited/${i}`)
    const [second] = await storeA.commitLocal([bigFile('big.bin', edited)])
    await client.until('the edit', () => client.synced === 2)
    const editBytes = client.bytes - firstBytes
    const stored = storeB.signedOf('big.bin')[0]!
    expect(stored.record.seq).toBe(second!.seq)
    expect(Buffer.from(stored.bytes).equals(Buffer.from(encodeRecord(second!)))).toBe(true)
    expect(client.deltas[1]!.fetched).toBeLessThanOrEqual(2)
    expect(editBytes).toBeLessThan(wholeBytes / 20)
    console.log(`index/2, ${ENTRIES} entries: whole record ${wholeBytes} B, first transfer ${firstBytes} B, after an edit of 4 entries ${editBytes} B (${client.deltas[1]!.fetched} of ${client.deltas[1]!.segments} segments fetched)`)

    // a copy under another name: every segment is already held
    await storeA.commitLocal([bigFile('copy of big.bin', edited)])
    await client.until('the copy', () => client.synced === 3)
    expect(client.deltas[2]!.fetched).toBe(0)
    expect(storeB.signedOf('copy of big.bin')).toHaveLength(1)
    expect(client.bytes - firstBytes - editBytes).toBeLessThan(wholeBytes / 20)
  })

  it('a client falls back to /ferry/index/1 with a server that only speaks it: records arrive whole', async () => {
    const storeA = await store('a', idA, keyA)
    const storeB = await store('b', idB, keyB)
    const { a, b } = await connectedPair()
    await a.handle(INDEX_PROTOCOL_V1, async (stream, connection) => {
      await serveIndex(stream, connection.remotePeer.toString(), { folderStore: () => storeA, log })
    })
    const [first] = await storeA.commitLocal([bigFile('big.bin', syntheticBlocks(2_000, 'v1')), bigFile('small.txt', syntheticBlocks(1, 'v1s'))])
    const client = new Client(await b.dialProtocol(a.peerId, [...INDEX_PROTOCOLS]), storeB)
    expect(client.protocol).toBe(INDEX_PROTOCOL_V1)
    await client.until('sync', () => client.synced === 1)
    expect(client.deltas).toHaveLength(0)
    expect(storeB.signedOf('big.bin')[0]!.record.seq).toBe(first!.seq)
    expect(storeB.signedOf('small.txt')).toHaveLength(1)
    expect(client.bytes).toBeGreaterThan(encodeRecord(first!).byteLength)
  })

  /** a server driven by hand: answers `sub` with one skeleton and the first `want` with `segs` */
  async function rogueServer (a: Libp2p, skeleton: unknown[], segs: (asked: number) => Uint8Array[]): Promise<void> {
    await a.handle(INDEX_PROTOCOL_V2, async (stream) => {
      const lp = lpStream(stream)
      await lp.read() // sub
      await lp.write(encode(['recs', [skeleton]]))
      const want = decode((await lp.read()).subarray()) as ['want', Array<[number, number[]]>]
      const asked = want[1].reduce((n, [, js]) => n + js.length, 0)
      await lp.write(encode(['segs', segs(asked)]))
      await new Promise(resolve => setTimeout(resolve, 10_000))
    })
  }

  it('a segment that does not hash to its id fails the batch with InvalidMessageError; nothing is stored', async () => {
    const storeB = await store('b', idB, keyB)
    const { a, b } = await connectedPair()
    const signed = await signRecord(fileRecordOf(syntheticBlocks(1_000, 'rogue'), { folder: FOLDER, device: idA, seq: 1 }), keyA)
    const cut = segmentRecord(signed.bytes, signed.record.blocks)!
    await rogueServer(a, [cut.head, signed.signature, cut.segments.map(s => [s.id, s.count])], asked => cut.segments.slice(0, asked).map((s, i) => {
      const bytes = signed.bytes.slice(s.offset, s.offset + s.length)
      if (i === 3) bytes[bytes.length - 1]! ^= 1 // one flipped bit in one segment
      return bytes
    }))
    const client = new Client(await b.dialProtocol(a.peerId, [...INDEX_PROTOCOLS]), storeB)
    const err = await client.done
    expect(err).toBeInstanceOf(InvalidMessageError)
    expect((err as InvalidMessageError).code).toBe('ERR_FERRY_INVALID_MESSAGE')
    expect((err as Error).message).toContain('segment does not match its id')
    expect([...storeB.paths()]).toEqual([])
  })

  it('segments that match their ids but not what the author signed fail with ForgedRecordError; nothing is stored', async () => {
    const storeB = await store('b', idB, keyB)
    const { a, b } = await connectedPair()
    const blocks = syntheticBlocks(1_000, 'forged')
    const signed = await signRecord(fileRecordOf(blocks, { folder: FOLDER, device: idA, seq: 1 }), keyA)
    // the same record with one block swapped (same size): a consistent skeleton, a stolen signature
    const swapped = [...blocks]
    swapped[500] = { ...syntheticBlock('swapped'), size: blocks[500]!.size }
    const forgedBytes = encodeRecord(fileRecordOf(swapped, { folder: FOLDER, device: idA, seq: 1 }))
    const forged = segmentRecord(forgedBytes, swapped)!
    await rogueServer(a, [forged.head, signed.signature, forged.segments.map(s => [s.id, s.count])],
      asked => forged.segments.slice(0, asked).map(s => forgedBytes.subarray(s.offset, s.offset + s.length)))
    const client = new Client(await b.dialProtocol(a.peerId, [...INDEX_PROTOCOLS]), storeB)
    const err = await client.done
    expect(err).toBeInstanceOf(ForgedRecordError)
    expect((err as ForgedRecordError).code).toBe('ERR_FERRY_FORGED_RECORD')
    expect([...storeB.paths()]).toEqual([])
  })

  it('a want for a segment the batch does not have makes the server abort the stream', async () => {
    const storeA = await store('a', idA, keyA)
    const { a, b } = await connectedPair()
    let served: Promise<void> | undefined
    await a.handle(INDEX_PROTOCOL_V2, async (stream, connection) => {
      served = serveIndex(stream, connection.remotePeer.toString(), { folderStore: () => storeA, log })
      await served
    })
    await storeA.commitLocal([bigFile('big.bin', syntheticBlocks(1_000, 'want'))])
    const stream = await b.dialProtocol(a.peerId, INDEX_PROTOCOL_V2)
    const lp = lpStream(stream)
    await lp.write(encode(['sub', FOLDER, []]))
    await lp.read() // recs with one skeleton
    await lp.write(encode(['want', [[0, [9999]]]]))
    await expect(lp.read()).rejects.toBeDefined()
    await served
    expect(stream.status).not.toBe('open')
  })
})
