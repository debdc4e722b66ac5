import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decode, encode } from 'cborg'
import type { Libp2p } from 'libp2p'
import { logger } from '@libp2p/logger'
import { lpStream } from '@libp2p/utils'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { ReplicaClient, serveReplica, type ReplicaServerComponents } from '../../protocols/replica/index.ts'
import { REPLICA_PROTOCOL_V1, REPLICA_PROTOCOL_V2, REPLICA_PROTOCOLS } from '../../protocols/replica/constants.ts'
import { encodeReplicaMessage } from '../../protocols/replica/messages.ts'
import { segmentRecord } from '../../protocols/index/block-list-segments.ts'
import type { DeltaBatchStats } from '../../protocols/index/record-delta.ts'
import { frameLength } from '../../protocols/wire/typed-message-stream.ts'
import { RelayStore } from '../../relay/store/relay-store.ts'
import { signMemberList } from '../../src/access/member-list.ts'
import { encodeRecord } from '../../src/log/record-codec.ts'
import { signRecord, type SignedRecord } from '../../src/log/signed-record.ts'
import type { BlockRef } from '../../src/model/file-record.ts'
import { startRogueNode, type Cleanups } from '../helpers/in-process-nodes.ts'
import { rejection } from '../helpers/async-checks.ts'
import { fileRecordOf, syntheticBlock, syntheticBlocks } from '../helpers/synthetic-records.ts'

/**
 * /ferry/replica/2 between two real libp2p nodes (TCP on loopback, Noise, Yamux), a device and a
 * relay with a real RelayStore: a record with a long block list is uploaded as a skeleton, and the
 * relay fetches only the segments it does not find in the records it already stores.
 */

const FOLDER = 'docs'
const ENTRIES = 20_000
const RECORD_TYPES = new Set(['recs', 'want', 'segs', 'ack'])
const log = logger('test:replica-deltas')

let relayKey: PrivateKey
let deviceKey: PrivateKey
let deviceId: string
let home: string
let relay: RelayStore
let hungUp: Error[]
let deltas: DeltaBatchStats[]
/** record-message frames the relay saw, per session */
let relayFrames: Array<{ type: string, bytes: number, direction: string }>
const cleanups: Cleanups = []

beforeEach(async () => {
  if (relayKey === undefined) {
    relayKey = await generateKeyPair('Ed25519')
    deviceKey = await generateKeyPair('Ed25519')
    deviceId = peerIdFromPrivateKey(deviceKey).toString()
  }
  home = await mkdtemp(join(tmpdir(), 'ferry-replica-deltas-'))
  relay = new RelayStore({ home, self: peerIdFromPrivateKey(relayKey).toString() })
  await relay.open()
  // the relay holds the folder once a writer's signed member list names it
  await relay.putMemberList(await signMemberList({ folder: FOLDER, version: 1, members: { [deviceId]: 'write' } }, deviceKey, deviceId), deviceId)
  hungUp = []
  deltas = []
  relayFrames = []
})

afterEach(async () => {
  for (const fn of cleanups.reverse()) await fn().catch(() => {})
  cleanups.length = 0
  await relay.close()
  await rm(home, { recursive: true, force: true })
})

/** the relay side, as relay/relay-node.ts wires it */
const components: ReplicaServerComponents = {
  openFolder: async (peer, folder) => relay.replicaFolder(folder, peer),
  hangUp: (_peer, reason) => { hungUp.push(reason) },
  onFrame: (type, bytes, direction) => { if (RECORD_TYPES.has(type)) relayFrames.push({ type, bytes, direction }) },
  onDeltaBatch: stats => { deltas.push(stats) },
  log
}

/** the relay node's handler for `protocols` (and no other replica id) */
async function serve (relayNode: Libp2p, served: Array<Promise<void>>, protocols: readonly string[]): Promise<void> {
  await relayNode.unhandle([...REPLICA_PROTOCOLS])
  await relayNode.handle([...protocols], async (stream, connection) => {
    const p = serveReplica(stream, connection.remotePeer.toString(), components)
    served.push(p)
    await p
  })
}

/** a relay node serving both replica ids and a device node connected to it */
async function connected (): Promise<{ relayNode: Libp2p, device: Libp2p, served: Array<Promise<void>> }> {
  const relayNode = await startRogueNode(relayKey, cleanups)
  const device = await startRogueNode(deviceKey, cleanups)
  const served: Array<Promise<void>> = []
  await serve(relayNode, served, REPLICA_PROTOCOLS)
  await device.dial(relayNode.getMultiaddrs()[0]!)
  return { relayNode, device, served }
}

async function bigRecord (seq: number, blocks: readonly BlockRef[], extra: { mtimeMs?: number } = {}): Promise<SignedRecord> {
  return await signRecord(fileRecordOf(blocks, { folder: FOLDER, device: deviceId, seq, path: 'big.bin', ...extra }), deviceKey)
}

/** one upload session of `records`; returns the bytes of its record messages, both ways, as the relay counted them */
async function upload (device: Libp2p, relayNode: Libp2p, served: Array<Promise<void>>, records: SignedRecord[], protocols: readonly string[] = REPLICA_PROTOCOLS): Promise<{ bytes: number, protocol: string }> {
  const before = relayFrames.length
  const client = await ReplicaClient.open(await device.dialProtocol(relayNode.peerId, [...protocols]), FOLDER)
  await client.sendRecords(records)
  await client.close()
  await Promise.all(served)
  return { bytes: relayFrames.slice(before).reduce((n, f) => n + f.bytes, 0), protocol: client.protocol }
}

function stored (): SignedRecord | undefined {
  return relay.folder(FOLDER)?.log.signedOf('big.bin')[0]
}

async function historyCount (): Promise<number> {
  let n = 0
  for await (const _ of relay.history(relay.folder(FOLDER)!)) n++
  return n
}

describe('/ferry/replica/2 record deltas from a device to a relay', () => {
  it('a 20,000-entry record edited in 4 entries uploads a few KB of segments and is stored with the exact signed bytes', async () => {
    const { relayNode, device, served } = await connected()
    const blocks = syntheticBlocks(ENTRIES, 'big')
    const v1 = await bigRecord(1, blocks)
    const wholeBytes = v1.bytes.byteLength

    const first = await upload(device, relayNode, served, [v1])
    expect(first.protocol).toBe(REPLICA_PROTOCOL_V2)
    expect(hungUp).toEqual([])
    // the relay held nothing: every segment was fetched, at a small overhead over the whole record
    expect(deltas[0]!.fetched).toBe(deltas[0]!.segments)
    expect(first.bytes).toBeGreaterThan(wholeBytes)
    expect(first.bytes).toBeLessThan(wholeBytes * 1.1)
    expect(Buffer.from(stored()!.bytes).equals(v1.bytes)).toBe(true)

    // 1 MiB overwritten in the middle: 4 blocks replaced
    const edited = [...blocks]
    for (let i = 10_000; i < 10_004; i++) edited[i] = syntheticBlock(`edited/${i}`)
    const v2 = await bigRecord(2, edited)
    const second = await upload(device, relayNode, served, [v2])
    expect(hungUp).toEqual([])
    expect(deltas[1]!.fetched).toBeLessThanOrEqual(2)
    expect(second.bytes).toBeLessThan(wholeBytes / 20)
    // stored verbatim: the author's bytes and signature; the first version kept as history
    const s = stored()!
    expect(s.record.seq).toBe(2)
    expect(Buffer.from(s.bytes).equals(Buffer.from(encodeRecord(v2.record)))).toBe(true)
    expect(Buffer.from(s.signature).equals(v2.signature)).toBe(true)
    expect(await historyCount()).toBe(1)
    console.log(`replica/2, ${ENTRIES} entries: whole record ${wholeBytes} B, first upload ${first.bytes} B, after an edit of 4 entries ${second.bytes} B (${deltas[1]!.fetched} of ${deltas[1]!.segments} segments fetched)`)
  })

  it('a segment that does not hash to its id gets the device cut off; nothing of the batch is stored', async () => {
    const { relayNode, device, served } = await connected()
    const signed = await bigRecord(1, syntheticBlocks(1_000, 'rogue'))
    const cut = segmentRecord(signed.bytes, signed.record.blocks)!
    // a device driven by hand: one skeleton, and one flipped bit in the segments it is asked for
    const lp = lpStream(await device.dialProtocol(relayNode.peerId, REPLICA_PROTOCOL_V2))
    await lp.write(encode(['hello', FOLDER]))
    await lp.read() // pos
    await lp.write(encode(['recs', [[cut.head, signed.signature, cut.segments.map(s => [s.id, s.count])]]]))
    const want = decode((await lp.read()).subarray()) as ['want', Array<[number, number[]]>]
    expect(want[1]).toEqual([[0, cut.segments.map((_, j) => j)]])
    await lp.write(encode(['segs', cut.segments.map((s, i) => {
      const bytes = signed.bytes.slice(s.offset, s.offset + s.length)
      if (i === 3) bytes[bytes.length - 1]! ^= 1
      return bytes
    })]))
    await expect(lp.read()).rejects.toBeDefined()
    await Promise.all(served)
    expect(hungUp.map(e => e.name)).toEqual(['InvalidMessageError'])
    expect(hungUp[0]!.message).toContain('segment does not match its id')
    expect(relay.folder(FOLDER)!.log.positionVector()).toEqual({})
  })

  it('a skeleton whose head is not what the author signed gets the device cut off; nothing is stored', async () => {
    const { relayNode, device, served } = await connected()
    const blocks = syntheticBlocks(1_000, 'head')
    const signed = await bigRecord(1, blocks)
    // another mtime in the head, the same block list, the original signature: the real client
    // sends it as a skeleton whose segments all check out
    const other = fileRecordOf(blocks, { folder: FOLDER, device: deviceId, seq: 1, path: 'big.bin', mtimeMs: 1_767_225_600_001 })
    const forged: SignedRecord = { record: other, bytes: encodeRecord(other), signature: signed.signature }
    const err = await rejection(upload(device, relayNode, served, [forged]))
    expect(err).toBeDefined()
    await Promise.all(served)
    expect(deltas).toEqual([])
    expect(hungUp.map(e => e.name)).toEqual(['ForgedRecordError'])
    expect(relay.folder(FOLDER)!.log.positionVector()).toEqual({})
  })

  it('replica/1 still works both ways round: an old device with a new relay, a new device with an old relay', async () => {
    const v1 = await bigRecord(1, syntheticBlocks(2_000, 'v1'))
    const recsFrame = frameLength(encode(encodeReplicaMessage({ type: 'recs', records: [[v1.bytes, v1.signature]] })).byteLength)

    // an old device dials only /1; the relay serves both
    const { relayNode, device, served } = await connected()
    const old = await upload(device, relayNode, served, [v1], [REPLICA_PROTOCOL_V1])
    expect(old.protocol).toBe(REPLICA_PROTOCOL_V1)
    const frames = relayFrames.map(f => f.type)
    expect(frames).toEqual(['recs', 'ack'])
    // the record went whole, in replica/1's encoding byte for byte
    expect(relayFrames[0]!.bytes).toBe(recsFrame)
    expect(Buffer.from(stored()!.bytes).equals(v1.bytes)).toBe(true)

    // a new device offers /2 and /1; an old relay has only /1
    const v2 = await bigRecord(2, syntheticBlocks(2_000, 'v2'))
    await serve(relayNode, served, [REPLICA_PROTOCOL_V1])
    relayFrames = []
    const fallback = await upload(device, relayNode, served, [v2])
    expect(fallback.protocol).toBe(REPLICA_PROTOCOL_V1)
    expect(relayFrames.map(f => f.type)).toEqual(['recs', 'ack'])
    expect(deltas).toEqual([])
    expect(Buffer.from(stored()!.bytes).equals(v2.bytes)).toBe(true)
    expect(hungUp).toEqual([])
  })
})
