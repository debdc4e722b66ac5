/**
 * The CBOR bytes of a record's field array, written directly: byte for byte what cborg's
 * `encode` makes of the same array (definite lengths, smallest integer heads), but in one exact
 * buffer instead of a token per value. Records are encoded once per record signed and once per
 * record received (the canonical-form check); with cborg that was a large share of the garbage
 * made per file when thousands of small files sync.
 *
 * Only the shapes records have are handled: non-negative safe integers, well-formed strings,
 * booleans, byte strings, arrays. Anything else returns undefined and the caller uses cborg.
 */

/** what encodeRecord puts in the array, in order (see record-codec.ts) */
export type RecordFields = readonly [
  format: number, folder: string, device: string, seq: number, path: string, type: number, size: number,
  mode: number, mtimeMs: number, deleted: boolean, modifiedBy: string,
  version: ReadonlyArray<readonly [string, number]>, blocks: ReadonlyArray<readonly [Uint8Array, number]>
]

const MAJOR_UINT = 0
const MAJOR_BYTES = 2
const MAJOR_STRING = 3
const MAJOR_ARRAY = 4
const CBOR_FALSE = 0xf4
const CBOR_TRUE = 0xf5
const TWO_32 = 2 ** 32

const utf8 = new TextEncoder()

function headLength (value: number): number {
  return value < 24 ? 1 : value < 0x100 ? 2 : value < 0x10000 ? 3 : value < TWO_32 ? 5 : 9
}

const isUint = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
/** a string whose UTF-8 form is unambiguous (no lone surrogates: encoders differ on those) */
const isPlainString = (v: unknown): boolean => typeof v === 'string' && v.isWellFormed()

export function encodeRecordFields (fields: RecordFields): Uint8Array | undefined {
  const [format, folder, device, seq, path, type, size, mode, mtimeMs, deleted, modifiedBy, version, blocks] = fields
  const uints = [format, seq, type, size, mode, mtimeMs]
  if (!uints.every(isUint) || typeof deleted !== 'boolean') return undefined
  const strings = [folder, device, path, modifiedBy]
  if (!strings.every(isPlainString)) return undefined
  for (const [dev, counter] of version) if (!isPlainString(dev) || !isUint(counter)) return undefined
  for (const [cid, blockSize] of blocks) if (!(cid instanceof Uint8Array) || !isUint(blockSize)) return undefined

  // first pass: the exact length
  const strLen = (s: string): number => { const n = Buffer.byteLength(s, 'utf8'); return headLength(n) + n }
  let length = 1 + uints.reduce((n, v) => n + headLength(v), 0) + 1 + strings.reduce((n, s) => n + strLen(s), 0)
  length += headLength(version.length)
  for (const [dev, counter] of version) length += 1 + strLen(dev) + headLength(counter)
  length += headLength(blocks.length)
  for (const [cid, blockSize] of blocks) length += 1 + headLength(cid.byteLength) + cid.byteLength + headLength(blockSize)

  const out = new Uint8Array(length)
  let at = 0
  const head = (major: number, value: number): void => {
    const m = major << 5
    if (value < 24) {
      out[at++] = m | value
    } else if (value < 0x100) {
      out[at++] = m | 24
      out[at++] = value
    } else if (value < 0x10000) {
      out[at++] = m | 25
      out[at++] = value >>> 8
      out[at++] = value & 0xff
    } else if (value < TWO_32) {
      out[at++] = m | 26
      out[at++] = value >>> 24
      out[at++] = (value >>> 16) & 0xff
      out[at++] = (value >>> 8) & 0xff
      out[at++] = value & 0xff
    } else {
      out[at++] = m | 27
      const hi = Math.floor(value / TWO_32)
      const lo = value % TWO_32
      for (const word of [hi, lo]) {
        out[at++] = word >>> 24
        out[at++] = (word >>> 16) & 0xff
        out[at++] = (word >>> 8) & 0xff
        out[at++] = word & 0xff
      }
    }
  }
  const uint = (v: number): void => { head(MAJOR_UINT, v) }
  const str = (s: string): void => {
    head(MAJOR_STRING, Buffer.byteLength(s, 'utf8'))
    at += utf8.encodeInto(s, out.subarray(at)).written
  }

  head(MAJOR_ARRAY, 13)
  uint(format); str(folder); str(device); uint(seq); str(path); uint(type); uint(size); uint(mode); uint(mtimeMs)
  out[at++] = deleted ? CBOR_TRUE : CBOR_FALSE
  str(modifiedBy)
  head(MAJOR_ARRAY, version.length)
  for (const [dev, counter] of version) {
    head(MAJOR_ARRAY, 2)
    str(dev)
    uint(counter)
  }
  head(MAJOR_ARRAY, blocks.length)
  for (const [cid, blockSize] of blocks) {
    head(MAJOR_ARRAY, 2)
    head(MAJOR_BYTES, cid.byteLength)
    out.set(cid, at)
    at += cid.byteLength
    uint(blockSize)
  }
  if (at !== length) throw new Error(`record encoder: wrote ${at} of ${length} bytes`)
  return out
}
