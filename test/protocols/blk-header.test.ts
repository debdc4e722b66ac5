import { describe, expect, it } from 'vitest'
import { encode, decode } from 'cborg'
import { Uint8ArrayList } from 'uint8arraylist'
import { blockCid } from '../../src/hashing/block-cid.ts'
import { STRICT_CBOR } from '../../src/log/record-codec.ts'
import { decodeBlkFrame, decodeBlocksMessage, encodeBlkHeader, encodeBlocksMessage } from '../../protocols/blocks/messages.ts'
import { blockBytesMatch, ScratchBuffer } from '../../protocols/blocks/block-bytes.ts'
import { InvalidMessageError } from '../../protocols/wire/errors.ts'

describe('encodeBlkHeader', () => {
  it('with the data appended, is byte for byte the CBOR of the blk message', () => {
    for (const size of [1, 23, 24, 255, 256, 65535, 65536, 262144, 1 << 20]) {
      const data = new Uint8Array(size).fill(size & 0xff)
      const cid = blockCid(data)
      const whole = encode(encodeBlocksMessage({ type: 'blk', cid, data }))
      const header = encodeBlkHeader(cid, size)
      expect(Buffer.concat([header, data]).equals(Buffer.from(whole))).toBe(true)
    }
  })
})

describe('encodeBlkHeader with a codec', () => {
  it('with the data appended, is byte for byte the CBOR of the zblk message', () => {
    for (const codec of ['zstd', 'br', 'gzip'] as const) {
      for (const size of [1, 23, 24, 255, 256, 65535, 65536, 1 << 20]) {
        const data = new Uint8Array(size).fill(size & 0xff)
        const cid = blockCid(data)
        const whole = encode(encodeBlocksMessage({ type: 'zblk', cid, codec, data }))
        const header = encodeBlkHeader(cid, size, codec)
        expect(Buffer.concat([header, data]).equals(Buffer.from(whole))).toBe(true)
      }
    }
  })
})

/** `bytes` cut into pieces of `piece` bytes, as a frame arrives from a connection */
const inPieces = (bytes: Uint8Array, piece: number): Uint8ArrayList => {
  const list = new Uint8ArrayList()
  for (let i = 0; i < bytes.byteLength; i += piece) list.append(bytes.subarray(i, i + piece))
  return list
}

describe('decodeBlkFrame', () => {
  it('reads what cborg reads, from pieces, without copying the data', () => {
    for (const size of [1, 23, 24, 255, 256, 65535, 65536, 262144, 1 << 20]) {
      const data = new Uint8Array(size).map((_, i) => i * 7)
      const cid = blockCid(data)
      const frame = inPieces(encode(encodeBlocksMessage({ type: 'blk', cid, data })), 16384)
      const m = decodeBlkFrame(frame)!
      expect(m.cid.equals(cid)).toBe(true)
      expect(Buffer.from(m.data.subarray()).equals(Buffer.from(data))).toBe(true)
      expect(blockBytesMatch(cid, m.data)).toBe(true)
      expect(decodeBlocksMessage(decode(frame.subarray(), STRICT_CBOR) as [string])).toMatchObject({ type: 'blk' })
    }
  })

  it('leaves other messages to the CBOR decoder', () => {
    const cid = blockCid(new Uint8Array([1]))
    for (const m of [{ type: 'none', cid }, { type: 'err', code: 'E', message: 'm' }, { type: 'zblk', cid, codec: 'zstd', data: new Uint8Array([1]) }] as const) {
      expect(decodeBlkFrame(new Uint8ArrayList(encode(encodeBlocksMessage(m))))).toBeUndefined()
    }
  })

  it('refuses what strict CBOR refuses: long-form lengths, trailing bytes, truncation, a bad cid, no data', () => {
    const data = new Uint8Array(300).fill(9)
    const cid = blockCid(data)
    const good = encode(encodeBlocksMessage({ type: 'blk', cid, data }))
    const headerLength = good.byteLength - data.byteLength
    const header = good.subarray(0, headerLength)
    const dataHeaderAt = headerLength - 3 // 0x59 + 2 length bytes for 300
    const longForm = Buffer.concat([header.subarray(0, dataHeaderAt), Buffer.from([0x5a, 0, 0, 0x01, 0x2c]), data])
    const badCid = Buffer.from(good); badCid[7] = 0x55 // the CID's version byte
    const cases: Array<[string, Uint8Array]> = [
      ['long form', longForm],
      ['trailing', Buffer.concat([good, Buffer.from([0])])],
      ['truncated', good.subarray(0, good.byteLength - 1)],
      ['cut in the header', good.subarray(0, 8)],
      ['bad cid', badCid],
      ['empty data', encode(['blk', cid.bytes, new Uint8Array(0)])],
      ['data not bytes', encode(['blk', cid.bytes, 'text'])]
    ]
    for (const [what, bytes] of cases) {
      expect(() => decodeBlkFrame(inPieces(bytes, 100)), what).toThrow(InvalidMessageError)
      expect(() => decodeBlocksMessage(decode(bytes, STRICT_CBOR) as [string]), what).toThrow()
    }
  })
})

describe('ScratchBuffer', () => {
  it('joins a block\'s pieces into one buffer it reuses, growing to the largest; a whole block passes as it is', () => {
    const scratch = new ScratchBuffer()
    const pieces = (n: number, fill: number): Uint8ArrayList => {
      const list = new Uint8ArrayList()
      for (let at = 0; at < n; at += 1000) list.append(new Uint8Array(Math.min(1000, n - at)).fill((fill + at / 1000) & 0xff))
      return list
    }
    const big = pieces(5500, 1)
    const first = scratch.whole(big)
    expect(Buffer.from(first).equals(Buffer.from(big.subarray()))).toBe(true)
    const small = pieces(2500, 9)
    const second = scratch.whole(small)
    expect(second.buffer).toBe(first.buffer)
    expect(second.byteLength).toBe(2500)
    expect(Buffer.from(second).equals(Buffer.from(small.subarray()))).toBe(true)
    const bigger = pieces(7000, 3)
    expect(Buffer.from(scratch.whole(bigger)).equals(Buffer.from(bigger.subarray()))).toBe(true)
    const one = new Uint8Array([1, 2, 3])
    expect(scratch.whole(one)).toBe(one)
  })
})
