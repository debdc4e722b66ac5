import { fieldReaders } from '../wire/fields.ts'
import { checkKey, type FolderKey } from '../../src/keys/folder-keyring.ts'
import { DEFAULT_MAX_KEYS, KEYS_PROTOCOL_V1 } from './constants.ts'

const { bad, shortString } = fieldReaders(KEYS_PROTOCOL_V1)
/** same rule as config folder ids */
const FOLDER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

/**
 * /ferry/keys/1.0.0 (docs/PROTOCOL.md): one exchange per stream.
 *   client -> server  ['keys', folder, [[id, key, epoch, createdAtMs], ...]]   the asker's keyring
 *   server -> client  ['keys', folder, [...]]   the server's keyring after merging the asker's
 *   server -> client  ['err', code, message]    then it closes
 */
export type KeysMessage =
  | { type: 'keys', folder: string, keys: FolderKey[] }
  | { type: 'err', code: string, message: string }

export function encodeKeysMessage (m: KeysMessage): unknown[] {
  switch (m.type) {
    case 'keys': return ['keys', m.folder, m.keys.map(k => [k.id, k.key, k.epoch, k.createdAtMs])]
    case 'err': return ['err', m.code, m.message]
  }
}

function folderId (v: unknown): string {
  const s = shortString(v, 'folder', 64)
  return FOLDER_ID.test(s) ? s : bad('folder is not a valid folder id')
}

/** every key is checked against its id: a malformed key fails the whole message */
export function decodeKeyList (v: unknown, folder: string): FolderKey[] {
  if (!Array.isArray(v) || v.length > DEFAULT_MAX_KEYS) return bad(`keys: at most ${DEFAULT_MAX_KEYS} keys`)
  return v.map((k: unknown) => {
    if (!Array.isArray(k) || k.length !== 4) return bad('keys: expected [id, key, epoch, createdAtMs]')
    const [id, key, epoch, createdAtMs] = k as unknown[]
    const fk = { id, key, epoch, createdAtMs } as FolderKey
    try { checkKey(fk, folder) } catch { return bad('keys: a key does not match its id or is malformed') }
    return fk
  })
}

export function decodeKeysMessage (v: [string, ...unknown[]]): KeysMessage {
  if (!Array.isArray(v)) return bad('not an array')
  const [tag, ...rest] = v as unknown[]
  switch (tag) {
    case 'keys': {
      if (rest.length !== 2) return bad('keys: expected [folder, keys]')
      const folder = folderId(rest[0])
      return { type: 'keys', folder, keys: decodeKeyList(rest[1], folder) }
    }
    case 'err':
      if (rest.length !== 2) return bad('err: expected [code, message]')
      return { type: 'err', code: shortString(rest[0], 'code', 64), message: shortString(rest[1], 'message', 1024) }
    default:
      return bad(`unknown message type ${JSON.stringify(tag).slice(0, 40)}`)
  }
}
