import { fieldReaders } from '../wire/fields.ts'
import { DEFAULT_MAX_BLOB_BYTES, SEALED_KEYRING_PROTOCOL_V1 } from './constants.ts'

const { bad, shortString } = fieldReaders(SEALED_KEYRING_PROTOCOL_V1)
const FOLDER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

/**
 * /ferry/sealed-keyring/1 (docs/PROTOCOL.md §15): one question per stream, device -> relay. The
 * blob is opaque to the relay (a keyring sealed under the folder's current key).
 *   client -> server  ['put', folder, blob]  |  ['get', folder]
 *   server -> client  ['ok']  |  ['blob', blob or null]  |  ['err', code, message]
 */
export type SealedKeyringMessage =
  | { type: 'put', folder: string, blob: Uint8Array }
  | { type: 'get', folder: string }
  | { type: 'ok' }
  | { type: 'blob', blob: Uint8Array | null }
  | { type: 'err', code: string, message: string }

export function encodeSealedKeyringMessage (m: SealedKeyringMessage): unknown[] {
  switch (m.type) {
    case 'put': return ['put', m.folder, m.blob]
    case 'get': return ['get', m.folder]
    case 'ok': return ['ok']
    case 'blob': return ['blob', m.blob]
    case 'err': return ['err', m.code, m.message]
  }
}

function folderId (v: unknown): string {
  const s = shortString(v, 'folder', 64)
  return FOLDER_ID.test(s) ? s : bad('folder is not a valid folder id')
}

function blob (v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length === 0 || v.length > DEFAULT_MAX_BLOB_BYTES) return bad(`blob must be 1..${DEFAULT_MAX_BLOB_BYTES} bytes`)
  return v
}

export function decodeSealedKeyringMessage (v: [string, ...unknown[]]): SealedKeyringMessage {
  if (!Array.isArray(v)) return bad('not an array')
  const [tag, ...rest] = v as unknown[]
  switch (tag) {
    case 'put':
      if (rest.length !== 2) return bad('put: expected [folder, blob]')
      return { type: 'put', folder: folderId(rest[0]), blob: blob(rest[1]) }
    case 'get':
      if (rest.length !== 1) return bad('get: expected [folder]')
      return { type: 'get', folder: folderId(rest[0]) }
    case 'ok':
      if (rest.length !== 0) return bad('ok: unexpected fields')
      return { type: 'ok' }
    case 'blob':
      if (rest.length !== 1) return bad('blob: expected [blob or null]')
      return { type: 'blob', blob: rest[0] === null ? null : blob(rest[0]) }
    case 'err':
      if (rest.length !== 2) return bad('err: expected [code, message]')
      return { type: 'err', code: shortString(rest[0], 'code', 64), message: shortString(rest[1], 'message', 1024) }
    default:
      return bad(`unknown message type ${JSON.stringify(tag).slice(0, 40)}`)
  }
}
