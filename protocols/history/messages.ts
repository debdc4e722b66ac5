import { fieldReaders } from '../wire/fields.ts'
import { DEFAULT_MAX_RECORDS, HISTORY_PROTOCOL_V1 } from './constants.ts'

const { bad, shortString } = fieldReaders(HISTORY_PROTOCOL_V1)

/**
 * /ferry/history/1 (docs/PROTOCOL.md §12): one question per stream.
 *   client -> server  ['get', folder, path]
 *   server -> client  ['recs', [[bytes, signature], ...]]   every record of `path` the server
 *                     keeps (current and superseded, any device), verbatim; then it closes
 *   server -> client  ['err', code, message]
 */
export type HistoryMessage =
  | { type: 'get', folder: string, path: string }
  | { type: 'recs', records: Array<[Uint8Array, Uint8Array]> }
  | { type: 'err', code: string, message: string }

export function encodeHistoryMessage (m: HistoryMessage): unknown[] {
  switch (m.type) {
    case 'get': return ['get', m.folder, m.path]
    case 'recs': return ['recs', m.records]
    case 'err': return ['err', m.code, m.message]
  }
}

export function decodeHistoryMessage (v: [string, ...unknown[]]): HistoryMessage {
  const [tag, ...rest] = v
  switch (tag) {
    case 'get':
      if (rest.length !== 2) bad('get: expected [folder, path]')
      return { type: 'get', folder: shortString(rest[0], 'folder', 256), path: shortString(rest[1], 'path', 4096) }
    case 'recs': {
      if (rest.length !== 1 || !Array.isArray(rest[0])) return bad('recs: expected [records]')
      const list = rest[0] as unknown[]
      if (list.length > DEFAULT_MAX_RECORDS) bad('recs: too many records')
      for (const r of list) {
        if (!Array.isArray(r) || r.length !== 2 || !(r[0] instanceof Uint8Array) || !(r[1] instanceof Uint8Array)) bad('recs: bad record envelope')
      }
      return { type: 'recs', records: list as Array<[Uint8Array, Uint8Array]> }
    }
    case 'err':
      if (rest.length !== 2) bad('err: expected [code, message]')
      return { type: 'err', code: shortString(rest[0], 'code', 64), message: shortString(rest[1], 'message', 1024) }
    default:
      return bad(`unknown message type ${JSON.stringify(tag).slice(0, 40)}`)
  }
}
