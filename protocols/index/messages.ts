import { INDEX_PROTOCOL_V1, DEFAULT_MAX_POSITIONS, DEFAULT_MAX_RECORDS_PER_BATCH } from './constants.ts'
import { fieldReaders } from '../wire/fields.ts'

const { bad, shortString } = fieldReaders(INDEX_PROTOCOL_V1)

/**
 * Wire schema of /ferry/index/1 (docs/PROTOCOL.md). Every message is a CBOR array:
 *   client -> server  ['sub', folder, [[device, seq], ...]]   once, first
 *   server -> client  ['recs', [[recordBytes, signature], ...]]  a batch, answered by:
 *   client -> server  ['ack']
 *   server -> client  ['synced']   the server has sent everything it holds, for now
 *   server -> client  ['err', code, message]   then the server closes
 */
export type IndexMessage =
  | { type: 'sub', folder: string, positions: Record<string, number> }
  | { type: 'recs', records: Array<[Uint8Array, Uint8Array]> }
  | { type: 'ack' }
  | { type: 'synced' }
  | { type: 'err', code: string, message: string }

export function encodeIndexMessage (m: IndexMessage): unknown[] {
  switch (m.type) {
    case 'sub': return ['sub', m.folder, Object.entries(m.positions)]
    case 'recs': return ['recs', m.records]
    case 'ack': return ['ack']
    case 'synced': return ['synced']
    case 'err': return ['err', m.code, m.message]
  }
}

export function decodeIndexMessage (v: [string, ...unknown[]]): IndexMessage {
  const [tag, ...rest] = v
  switch (tag) {
    case 'sub': {
      if (rest.length !== 2 || !Array.isArray(rest[1])) return bad('sub: expected [folder, positions]')
      const positions: Record<string, number> = {}
      const list = rest[1] as unknown[]
      if (list.length > DEFAULT_MAX_POSITIONS) bad('sub: too many positions')
      for (const p of list) {
        if (!Array.isArray(p) || p.length !== 2) bad('sub: bad position')
        const [device, seq] = p as unknown[]
        const id = shortString(device, 'device')
        if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) bad('sub: bad seq')
        positions[id] = seq as number
      }
      return { type: 'sub', folder: shortString(rest[0], 'folder'), positions }
    }
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
    case 'synced':
      if (rest.length !== 0) bad(`${tag}: unexpected fields`)
      return { type: tag }
    case 'err':
      if (rest.length !== 2) bad('err: expected [code, message]')
      return { type: 'err', code: shortString(rest[0], 'code', 64), message: shortString(rest[1], 'message', 1024) }
    default:
      return bad(`unknown message type ${JSON.stringify(tag).slice(0, 40)}`)
  }
}
