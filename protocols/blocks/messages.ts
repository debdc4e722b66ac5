import type { CID } from 'multiformats/cid'
import { decodeBlockCid } from '../../src/hashing/block-cid.ts'
import { InvalidMessageError } from '../wire/errors.ts'
import { BLOCKS_PROTOCOL, DEFAULT_MAX_BLOCK_BYTES, DEFAULT_MAX_WANTS_PER_MESSAGE } from './constants.ts'

/**
 * Wire schema of /ferry/blocks/1 (docs/PROTOCOL.md). CBOR arrays:
 *   client -> server  ['want', folder, [cid, ...]]      any number, pipelined
 *   server -> client  ['blk', cid, data] | ['none', cid]  one answer per wanted cid, in order
 *   server -> client  ['err', code, message]             then the server closes
 * The client half-closes when it wants nothing more; the server closes after the last answer.
 */
export type BlocksMessage =
  | { type: 'want', folder: string, cids: CID[] }
  | { type: 'blk', cid: CID, data: Uint8Array }
  | { type: 'none', cid: CID }
  | { type: 'err', code: string, message: string }

const bad = (why: string): never => { throw new InvalidMessageError(BLOCKS_PROTOCOL, why) }

function cidOf (v: unknown): CID {
  if (!(v instanceof Uint8Array)) return bad('cid must be bytes')
  try { return decodeBlockCid(v) } catch { return bad('not a block cid') }
}

function shortString (v: unknown, what: string, max = 256): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) bad(`${what} must be a string of 1..${max} chars`)
  return v as string
}

export function encodeBlocksMessage (m: BlocksMessage): unknown[] {
  switch (m.type) {
    case 'want': return ['want', m.folder, m.cids.map(c => c.bytes)]
    case 'blk': return ['blk', m.cid.bytes, m.data]
    case 'none': return ['none', m.cid.bytes]
    case 'err': return ['err', m.code, m.message]
  }
}

/**
 * The CBOR of `['blk', cid, data]` up to (not including) the data's bytes, so a block is sent
 * without being copied into a message buffer. Same bytes as `encode(encodeBlocksMessage(...))`.
 */
export function encodeBlkHeader (cid: CID, dataLength: number): Uint8Array {
  const c = cid.bytes
  const out = new Uint8Array(1 + 4 + byteStringHeaderLength(c.byteLength) + c.byteLength + byteStringHeaderLength(dataLength))
  let at = 0
  out[at++] = 0x83 // array(3)
  out.set([0x63, 0x62, 0x6c, 0x6b], at) // text(3) "blk"
  at += 4
  at = writeByteStringHeader(out, at, c.byteLength)
  out.set(c, at)
  at += c.byteLength
  writeByteStringHeader(out, at, dataLength)
  return out
}

function byteStringHeaderLength (n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5
}

/** CBOR major type 2 (byte string) header for `n` bytes, shortest form (canonical) */
function writeByteStringHeader (out: Uint8Array, at: number, n: number): number {
  if (n < 24) { out[at] = 0x40 | n; return at + 1 }
  if (n < 0x100) { out[at] = 0x58; out[at + 1] = n; return at + 2 }
  if (n < 0x10000) { out[at] = 0x59; out[at + 1] = n >> 8; out[at + 2] = n & 0xff; return at + 3 }
  out[at] = 0x5a
  new DataView(out.buffer, out.byteOffset + at + 1, 4).setUint32(0, n)
  return at + 5
}

export function decodeBlocksMessage (v: [string, ...unknown[]]): BlocksMessage {
  const [tag, ...rest] = v
  switch (tag) {
    case 'want': {
      if (rest.length !== 2 || !Array.isArray(rest[1])) return bad('want: expected [folder, cids]')
      const list = rest[1] as unknown[]
      if (list.length === 0 || list.length > DEFAULT_MAX_WANTS_PER_MESSAGE) bad('want: bad number of cids')
      return { type: 'want', folder: shortString(rest[0], 'folder'), cids: list.map(cidOf) }
    }
    case 'blk':
      if (rest.length !== 2 || !(rest[1] instanceof Uint8Array)) return bad('blk: expected [cid, data]')
      if (rest[1].byteLength === 0 || rest[1].byteLength > DEFAULT_MAX_BLOCK_BYTES) bad('blk: bad data size')
      return { type: 'blk', cid: cidOf(rest[0]), data: rest[1] }
    case 'none':
      if (rest.length !== 1) bad('none: expected [cid]')
      return { type: 'none', cid: cidOf(rest[0]) }
    case 'err':
      if (rest.length !== 2) bad('err: expected [code, message]')
      return { type: 'err', code: shortString(rest[0], 'code', 64), message: shortString(rest[1], 'message', 1024) }
    default:
      return bad(`unknown message type ${JSON.stringify(tag).slice(0, 40)}`)
  }
}
