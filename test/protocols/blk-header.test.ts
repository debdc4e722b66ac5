import { describe, expect, it } from 'vitest'
import { encode } from 'cborg'
import { blockCid } from '../../src/hashing/block-cid.ts'
import { encodeBlkHeader, encodeBlocksMessage } from '../../protocols/blocks/messages.ts'

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
