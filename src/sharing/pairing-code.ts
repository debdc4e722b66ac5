import { encode, decode } from 'cborg'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { STRICT_CBOR } from '../log/record-codec.ts'
import { FerryError } from '../errors.ts'
import { SECRET_BYTES } from '../../protocols/join/index.ts'

/**
 * What `ferry invite` prints and `ferry join` takes: `ferry1:` + base64url(CBOR
 * [1, folder, inviter device id, [listen addr, ...], relay addr or "", secret (32 bytes)]).
 * The secret is the only proof; the inviter keeps only its hash.
 */
export const PAIRING_CODE_PREFIX = 'ferry1:'
const CODE_FORMAT = 1
const MAX_CODE_CHARS = 8192
const MAX_ADDRS = 16

export interface PairingCode {
  folder: string
  device: string
  addrs: string[]
  relay?: string
  secret: Uint8Array
}

export class BadPairingCodeError extends FerryError {
  constructor (why: string) {
    super(`not a valid pairing code: ${why}`, 'ERR_FERRY_BAD_CODE', 'copy the whole code that `ferry invite` printed, starting with ferry1:')
  }
}

export function encodePairingCode (c: PairingCode): string {
  const bytes = encode([CODE_FORMAT, c.folder, c.device, c.addrs, c.relay ?? '', c.secret])
  return PAIRING_CODE_PREFIX + Buffer.from(bytes).toString('base64url')
}

export function decodePairingCode (text: string): PairingCode {
  const s = text.trim()
  if (!s.startsWith(PAIRING_CODE_PREFIX)) throw new BadPairingCodeError(`it does not start with ${PAIRING_CODE_PREFIX}`)
  const body = s.slice(PAIRING_CODE_PREFIX.length)
  if (body.length > MAX_CODE_CHARS || !/^[A-Za-z0-9_-]+$/.test(body)) throw new BadPairingCodeError('it is cut or has stray characters')
  let v: unknown
  try { v = decode(Buffer.from(body, 'base64url'), STRICT_CBOR) } catch { throw new BadPairingCodeError('it is cut or altered') }
  if (!Array.isArray(v) || v.length !== 6) throw new BadPairingCodeError('wrong layout')
  const [format, folder, device, addrs, relay, secret] = v as unknown[]
  if (format !== CODE_FORMAT) throw new BadPairingCodeError(`unknown format ${String(format)}`)
  if (typeof folder !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(folder)) throw new BadPairingCodeError('bad folder id')
  if (typeof device !== 'string') throw new BadPairingCodeError('bad device id')
  try {
    if (peerIdFromString(device).type !== 'Ed25519') throw new Error('type')
  } catch { throw new BadPairingCodeError('bad device id') }
  if (!Array.isArray(addrs) || addrs.length > MAX_ADDRS || !addrs.every(isMultiaddr)) throw new BadPairingCodeError('bad addresses')
  if (typeof relay !== 'string' || (relay !== '' && !isMultiaddr(relay))) throw new BadPairingCodeError('bad relay address')
  if (!(secret instanceof Uint8Array) || secret.byteLength !== SECRET_BYTES) throw new BadPairingCodeError('bad secret')
  return { folder, device, addrs: addrs as string[], ...(relay === '' ? {} : { relay }), secret }
}

function isMultiaddr (a: unknown): boolean {
  if (typeof a !== 'string' || a.length > 256) return false
  try { multiaddr(a); return true } catch { return false }
}
