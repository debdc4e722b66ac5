import { DEFAULT_MAX_ADDR_CHARS, DEFAULT_MAX_ADDRS, JOIN_PROTOCOL_V1, SECRET_BYTES } from './constants.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { fieldReaders } from '../wire/fields.ts'
import type { FolderKey } from '../../src/keys/folder-keyring.ts'
import { decodeKeyList } from '../keys/messages.ts'

const { bad, shortString } = fieldReaders(JOIN_PROTOCOL_V1)
/** same rule as config folder ids: they end up in config.json and in record keys */
const FOLDER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

function folderId (v: unknown): string {
  const s = shortString(v, 'folder', 64)
  return FOLDER_ID.test(s) ? s : bad('folder is not a valid folder id')
}

/** an address the joiner can be dialled at: it must parse, it ends up in the inviter's config */
function addr (v: unknown): string {
  const s = shortString(v, 'addr', DEFAULT_MAX_ADDR_CHARS)
  try { multiaddr(s) } catch { return bad(`addr ${JSON.stringify(s.slice(0, 40))} is not a multiaddr`) }
  return s
}

/**
 * Wire schema of /ferry/join/1 (docs/PROTOCOL.md). CBOR arrays:
 *   client -> server  ['join', folder, secret, [addr, ...]]   once
 *   server -> client  ['welcome', folder, role] | ['err', code, message]   then both close
 * /ferry/join/2: the same, and `welcome` carries the folder's keyring (schema of /ferry/keys/1.0.0):
 *   server -> client  ['welcome', folder, role, [[id, key, epoch, createdAtMs], ...]]
 */
export type JoinRole = 'read-write' | 'read-only'
/** what a joiner proves and offers: the folder, the invitation's secret, where it can be dialled */
export interface JoinRequest { folder: string, secret: Uint8Array, addrs: string[] }
export type JoinMessage =
  | { type: 'join', folder: string, secret: Uint8Array, addrs: string[] }
  | { type: 'welcome', folder: string, role: JoinRole, keys?: FolderKey[] }
  | { type: 'err', code: string, message: string }

export function encodeJoinMessage (m: JoinMessage): unknown[] {
  switch (m.type) {
    case 'join': return ['join', m.folder, m.secret, m.addrs]
    case 'welcome': return m.keys === undefined ? ['welcome', m.folder, m.role] : ['welcome', m.folder, m.role, m.keys.map(k => [k.id, k.key, k.epoch, k.createdAtMs])]
    case 'err': return ['err', m.code, m.message]
  }
}

export function decodeJoinMessage (v: [string, ...unknown[]]): JoinMessage {
  if (!Array.isArray(v)) return bad('not an array')
  const [tag, ...rest] = v as unknown[]
  switch (tag) {
    case 'join': {
      if (rest.length !== 3) return bad('join: expected [folder, secret, addrs]')
      const [folder, secret, addrs] = rest
      if (!(secret instanceof Uint8Array) || secret.byteLength !== SECRET_BYTES) return bad(`join: secret must be ${SECRET_BYTES} bytes`)
      if (!Array.isArray(addrs) || addrs.length > DEFAULT_MAX_ADDRS) return bad(`join: at most ${DEFAULT_MAX_ADDRS} addrs`)
      return { type: 'join', folder: folderId(folder), secret, addrs: addrs.map(addr) }
    }
    case 'welcome': {
      if (rest.length !== 2 && rest.length !== 3) return bad('welcome: expected [folder, role] or [folder, role, keys]')
      const role = rest[1]
      if (role !== 'read-write' && role !== 'read-only') return bad('welcome: bad role')
      const folder = folderId(rest[0])
      return rest.length === 2 ? { type: 'welcome', folder, role } : { type: 'welcome', folder, role, keys: decodeKeyList(rest[2], folder) }
    }
    case 'err':
      if (rest.length !== 2) return bad('err: expected [code, message]')
      return { type: 'err', code: shortString(rest[0], 'code', 64), message: shortString(rest[1], 'message', 1024) }
    default:
      return bad(`unknown message type ${JSON.stringify(tag).slice(0, 40)}`)
  }
}
