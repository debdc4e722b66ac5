import type { CID } from 'multiformats/cid'
import {
  REPLICA_PROTOCOL_V1, REPLICA_PROTOCOL_V2, DEFAULT_MAX_BLOCK_BYTES_PER_MESSAGE, DEFAULT_MAX_CIDS_PER_QUERY, DEFAULT_MAX_POSITIONS, DEFAULT_MAX_RECORDS_PER_BATCH
} from './constants.ts'
import { fieldReaders } from '../wire/fields.ts'
import type { MessageCodec } from '../wire/typed-message-stream.ts'
import { wholeRecordsOnly, withDeltas, type WithDeltas } from '../index/delta-messages.ts'

const { bad, cidOf, shortString } = fieldReaders(REPLICA_PROTOCOL_V1)

/**
 * Wire schema of /ferry/replica/1 (docs/PROTOCOL.md §11). CBOR arrays:
 *   device -> relay  ['hello', folder]                 once, first
 *   relay -> device  ['pos', [[device, seq], ...]]     the relay's position per log
 *   device -> relay  ['has', [cid, ...]]               which of these do you lack?
 *   relay -> device  ['lack', [cid, ...]]              the subset it does not hold, in order
 *   device -> relay  ['blk', cid, data]                pipelined
 *   relay -> device  ['got', cid]                      after the block is fsynced, in order
 *   device -> relay  ['recs', [[bytes, sig], ...]]
 *   relay -> device  ['ack', count]                    after the records are fsynced
 *   relay -> device  ['err', code, message]            then the relay closes
 * The device half-closes when done; the relay then closes.
 */
export type ReplicaMessage =
  | { type: 'hello', folder: string }
  | { type: 'pos', positions: Record<string, number> }
  | { type: 'has', cids: CID[] }
  | { type: 'lack', cids: CID[] }
  | { type: 'blk', cid: CID, data: Uint8Array }
  | { type: 'got', cid: CID }
  | { type: 'recs', records: Array<[Uint8Array, Uint8Array]> }
  | { type: 'ack', count: number }
  | { type: 'err', code: string, message: string }

function cidList (v: unknown, tag: string, allowEmpty: boolean): CID[] {
  if (!Array.isArray(v)) return bad(`${tag}: expected a list of cids`)
  if ((!allowEmpty && v.length === 0) || v.length > DEFAULT_MAX_CIDS_PER_QUERY) bad(`${tag}: bad number of cids`)
  return v.map(cidOf)
}

export function encodeReplicaMessage (m: ReplicaMessage): unknown[] {
  switch (m.type) {
    case 'hello': return ['hello', m.folder]
    case 'pos': return ['pos', Object.entries(m.positions)]
    case 'has': return ['has', m.cids.map(c => c.bytes)]
    case 'lack': return ['lack', m.cids.map(c => c.bytes)]
    case 'blk': return ['blk', m.cid.bytes, m.data]
    case 'got': return ['got', m.cid.bytes]
    case 'recs': return ['recs', m.records]
    case 'ack': return ['ack', m.count]
    case 'err': return ['err', m.code, m.message]
  }
}

export function decodeReplicaMessage (v: [string, ...unknown[]]): ReplicaMessage {
  const [tag, ...rest] = v
  switch (tag) {
    case 'hello':
      if (rest.length !== 1) bad('hello: expected [folder]')
      return { type: 'hello', folder: shortString(rest[0], 'folder') }
    case 'pos': {
      if (rest.length !== 1 || !Array.isArray(rest[0])) return bad('pos: expected [positions]')
      const list = rest[0] as unknown[]
      if (list.length > DEFAULT_MAX_POSITIONS) bad('pos: too many positions')
      const positions: Record<string, number> = {}
      for (const p of list) {
        if (!Array.isArray(p) || p.length !== 2) bad('pos: bad position')
        const [device, seq] = p as unknown[]
        const id = shortString(device, 'device')
        if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) bad('pos: bad seq')
        positions[id] = seq as number
      }
      return { type: 'pos', positions }
    }
    case 'has':
      if (rest.length !== 1) bad('has: expected [cids]')
      return { type: 'has', cids: cidList(rest[0], 'has', false) }
    case 'lack':
      if (rest.length !== 1) bad('lack: expected [cids]')
      return { type: 'lack', cids: cidList(rest[0], 'lack', true) }
    case 'blk':
      if (rest.length !== 2 || !(rest[1] instanceof Uint8Array)) return bad('blk: expected [cid, data]')
      if (rest[1].byteLength === 0 || rest[1].byteLength > DEFAULT_MAX_BLOCK_BYTES_PER_MESSAGE) bad('blk: bad data size')
      return { type: 'blk', cid: cidOf(rest[0]), data: rest[1] }
    case 'got':
      if (rest.length !== 1) bad('got: expected [cid]')
      return { type: 'got', cid: cidOf(rest[0]) }
    case 'recs': {
      if (rest.length !== 1 || !Array.isArray(rest[0])) return bad('recs: expected [records]')
      const list = rest[0] as unknown[]
      if (list.length === 0 || list.length > DEFAULT_MAX_RECORDS_PER_BATCH) bad('recs: bad batch size')
      for (const r of list) {
        if (!Array.isArray(r) || r.length !== 2 || !(r[0] instanceof Uint8Array) || !(r[1] instanceof Uint8Array)) bad('recs: bad record envelope')
      }
      return { type: 'recs', records: list as Array<[Uint8Array, Uint8Array]> }
    }
    case 'ack':
      if (rest.length !== 1 || typeof rest[0] !== 'number' || !Number.isSafeInteger(rest[0]) || rest[0] < 0) return bad('ack: expected [count]')
      return { type: 'ack', count: rest[0] }
    case 'err':
      if (rest.length !== 2) bad('err: expected [code, message]')
      return { type: 'err', code: shortString(rest[0], 'code', 64), message: shortString(rest[1], 'message', 1024) }
    default:
      return bad(`unknown message type ${JSON.stringify(tag).slice(0, 40)}`)
  }
}

const replicaCodec: MessageCodec<ReplicaMessage> = { encode: encodeReplicaMessage, decode: decodeReplicaMessage }

/**
 * /ferry/replica/2 (docs/PROTOCOL.md §11.4): replica/1 with record deltas. The device sends
 * `recs` items that may be skeletons; between a `recs` and its `ack` the relay may send `want`,
 * the device answers `segs` (protocols/index/record-delta.ts, roles as sender and receiver).
 */
export type ReplicaMessageV2 = WithDeltas<ReplicaMessage>
export const replicaCodecV2 = withDeltas(REPLICA_PROTOCOL_V2, replicaCodec)
/** replica/1 through the replica/2 types: whole records only, byte for byte as before */
export const replicaCodecV1 = wholeRecordsOnly(REPLICA_PROTOCOL_V1, replicaCodec)
