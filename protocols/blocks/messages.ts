import type { CID } from 'multiformats/cid'
import {
  BLOCKS_PROTOCOL_V2, DEFAULT_MAX_BLOCK_BYTES, DEFAULT_MAX_CODEC_NAME_CHARS, DEFAULT_MAX_CODECS, DEFAULT_MAX_WANTS_PER_MESSAGE
} from './constants.ts'
import { isCodec, type Codec } from './compression.ts'
import { fieldReaders } from '../wire/fields.ts'
import type { Uint8ArrayList } from 'uint8arraylist'
import { contiguous, type BlockBytes } from './block-bytes.ts'

const { bad, cidOf, shortString } = fieldReaders(BLOCKS_PROTOCOL_V2)

/**
 * Wire schema of /ferry/blocks/2 (docs/PROTOCOL.md §7). CBOR arrays:
 *   client -> server  ['hello', [codec, ...]]            optional, only as the first message (v2)
 *   client -> server  ['want', folder, [cid, ...]]      any number, pipelined
 *   server -> client  ['blk', cid, data] | ['zblk', cid, codec, data] | ['none', cid]
 *                                                         one answer per wanted cid, in order
 *   server -> client  ['err', code, message]             then the server closes
 * The client half-closes when it wants nothing more; the server closes after the last answer.
 * /ferry/blocks/1 is the same without `hello` and `zblk`.
 */
export type BlocksMessage =
  | { type: 'hello', codecs: string[] }
  | { type: 'want', folder: string, cids: CID[] }
  | { type: 'blk', cid: CID, data: BlockBytes }
  | { type: 'zblk', cid: CID, codec: Codec, data: Uint8Array }
  | { type: 'none', cid: CID }
  | { type: 'err', code: string, message: string }

export function encodeBlocksMessage (m: BlocksMessage): unknown[] {
  switch (m.type) {
    case 'hello': return ['hello', m.codecs]
    case 'want': return ['want', m.folder, m.cids.map(c => c.bytes)]
    case 'blk': return ['blk', m.cid.bytes, contiguous(m.data)]
    case 'zblk': return ['zblk', m.cid.bytes, m.codec, m.data]
    case 'none': return ['none', m.cid.bytes]
    case 'err': return ['err', m.code, m.message]
  }
}

/**
 * The CBOR of `['blk', cid, data]` (or, with `codec`, `['zblk', cid, codec, data]`) up to (not
 * including) the data's bytes, so a block is sent without being copied into a message buffer.
 * Same bytes as `encode(encodeBlocksMessage(...))`.
 */
export function encodeBlkHeader (cid: CID, dataLength: number, codec?: Codec): Uint8Array {
  const c = cid.bytes
  // codec names are short ASCII (< 24 chars): text header is one byte
  const tag = codec === undefined ? [0x83, 0x63, 0x62, 0x6c, 0x6b] : [0x84, 0x64, 0x7a, 0x62, 0x6c, 0x6b] // array(3) "blk" | array(4) "zblk"
  const codecBytes = codec === undefined ? [] : [0x60 | codec.length, ...Array.from(codec, ch => ch.charCodeAt(0))]
  const out = new Uint8Array(tag.length + byteStringHeaderLength(c.byteLength) + c.byteLength + codecBytes.length + byteStringHeaderLength(dataLength))
  out.set(tag, 0)
  let at = tag.length
  at = writeByteStringHeader(out, at, c.byteLength)
  out.set(c, at)
  at += c.byteLength
  out.set(codecBytes, at)
  at += codecBytes.length
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

/** array(3) "blk": how every raw block answer starts */
const BLK_PREFIX = [0x83, 0x63, 0x62, 0x6c, 0x6b]

/**
 * Parses a `['blk', cid, data]` frame without copying its data (a view of the frame's pieces),
 * with the checks strict CBOR decoding would make: shortest-form lengths, nothing after the data.
 * Returns undefined for a frame of any other kind (decode those with `decodeBlocksMessage`).
 */
export function decodeBlkFrame (frame: Uint8ArrayList): { type: 'blk', cid: CID, data: Uint8ArrayList } | undefined {
  if (frame.byteLength < BLK_PREFIX.length || BLK_PREFIX.some((b, i) => frame.get(i) !== b)) return undefined
  let at = BLK_PREFIX.length
  const byteString = (what: string): number => {
    if (at >= frame.byteLength) return bad(`blk: truncated ${what}`)
    const first = frame.get(at)
    if (first >> 5 !== 2) return bad(`blk: ${what} must be bytes`)
    const info = first & 0x1f
    const width = info < 24 ? 0 : info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : -1
    if (width < 0 || at + 1 + width > frame.byteLength) return bad(`blk: bad ${what} length`)
    let n = width === 0 ? info : 0
    for (let i = 1; i <= width; i++) n = n * 256 + frame.get(at + i)
    const shortest = width === 0 || n >= (width === 1 ? 24 : width === 2 ? 0x100 : 0x10000)
    if (!shortest) return bad(`blk: ${what} length not in shortest form`)
    at += 1 + width
    if (n > frame.byteLength - at) return bad(`blk: truncated ${what}`)
    return n
  }
  const cidLength = byteString('cid')
  const cid = cidOf(frame.subarray(at, at + cidLength))
  at += cidLength
  const dataLength = byteString('data')
  if (at + dataLength !== frame.byteLength) bad('blk: expected [cid, data]')
  if (dataLength === 0 || dataLength > DEFAULT_MAX_BLOCK_BYTES) bad('blk: bad data size')
  return { type: 'blk', cid, data: frame.sublist(at) }
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
    case 'hello': {
      if (rest.length !== 1 || !Array.isArray(rest[0])) return bad('hello: expected [codecs]')
      const list = rest[0] as unknown[]
      if (list.length > DEFAULT_MAX_CODECS) bad('hello: too many codecs')
      // names this side does not know are kept: the server just never picks them
      return { type: 'hello', codecs: list.map(c => shortString(c, 'codec', DEFAULT_MAX_CODEC_NAME_CHARS)) }
    }
    case 'zblk': {
      if (rest.length !== 3 || typeof rest[1] !== 'string' || !(rest[2] instanceof Uint8Array)) return bad('zblk: expected [cid, codec, data]')
      const codec = rest[1]
      if (!isCodec(codec)) return bad(`zblk: unknown codec ${JSON.stringify(codec).slice(0, 40)}`)
      if (rest[2].byteLength === 0 || rest[2].byteLength > DEFAULT_MAX_BLOCK_BYTES) bad('zblk: bad data size')
      return { type: 'zblk', cid: cidOf(rest[0]), codec, data: rest[2] }
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
