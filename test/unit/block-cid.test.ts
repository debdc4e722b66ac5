import { describe, expect, it } from 'vitest'
import { createHash, randomBytes } from 'node:crypto'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256, sha512 } from 'multiformats/hashes/sha2'
import { blockCid, blockCidAsync, blockMatches, cidKey, decodeBlockCid, digestMatches } from '../../src/hashing/block-cid.ts'

describe('block cids', () => {
  it('the thread-pool hash gives the same cid as the inline one, for views into bigger buffers too', async () => {
    const buf = randomBytes(1 << 20)
    for (const [from, to] of [[0, 1], [0, 65536], [17, 300_001], [1000, 1 << 20]] as const) {
      const view = new Uint8Array(buf.buffer, buf.byteOffset + from, to - from)
      const cid = await blockCidAsync(view)
      expect(cid.equals(blockCid(view))).toBe(true)
      expect(blockMatches(cid, view)).toBe(true)
    }
  })
})

describe('cidKey', () => {
  it('is cid.toString(), for blocks of every size', () => {
    for (let n = 0; n < 300; n++) {
      const cid = blockCid(randomBytes(n))
      expect(cidKey(cid)).toBe(cid.toString())
    }
  })
})

describe('block cids cut from shared slabs', () => {
  it('equal the CIDs multiformats makes, across many slabs, and own no buffer of their own', async () => {
    const cids: CID[] = []
    const refs: CID[] = []
    for (let n = 0; n < 1000; n++) {
      const bytes = randomBytes(1 + n % 97)
      cids.push(blockCid(bytes, 'sha2-256'))
      refs.push(CID.createV1(raw.code, await sha256.digest(bytes)))
    }
    cids.forEach((cid, i) => {
      const ref = refs[i]!
      expect(cid.equals(ref)).toBe(true)
      expect(cid.bytes).toEqual(ref.bytes)
      expect(cid.multihash.bytes).toEqual(ref.multihash.bytes)
      expect(cid.multihash.digest).toEqual(ref.multihash.digest)
      expect(cid.toString()).toBe(ref.toString())
      expect(CID.decode(cid.bytes).equals(ref)).toBe(true)
      // the three views share one slice
      expect(cid.multihash.bytes.buffer).toBe(cid.bytes.buffer)
      expect(cid.multihash.digest.buffer).toBe(cid.bytes.buffer)
    })
  })

  it('decodeBlockCid copies: the CID does not change when the message buffer it came from does', () => {
    const cid = blockCid(randomBytes(100))
    const message = new Uint8Array(100)
    message.set(cid.bytes, 10)
    const decoded = decodeBlockCid(message.subarray(10, 10 + cid.bytes.byteLength))
    message.fill(0)
    expect(decoded.equals(cid)).toBe(true)
    expect(decoded.bytes.buffer).not.toBe(message.buffer)
  })

  it('decodeBlockCid refuses anything but CIDv1/raw/sha2-256 of 36 bytes', async () => {
    const good = blockCid(randomBytes(10)).bytes
    expect(() => decodeBlockCid(good.subarray(0, 35))).toThrow()
    expect(() => decodeBlockCid(Uint8Array.from([...good, 0]))).toThrow()
    for (const i of [0, 1, 2, 3]) {
      const bad = Uint8Array.from(good)
      bad[i]! ^= 1
      expect(() => decodeBlockCid(bad)).toThrow()
    }
    const d256 = await sha256.digest(randomBytes(4))
    const d512 = await sha512.digest(randomBytes(4))
    expect(() => decodeBlockCid(CID.createV1(0x71, d256).bytes)).toThrow()
    expect(() => decodeBlockCid(CID.createV1(raw.code, d512).bytes)).toThrow()
    expect(() => decodeBlockCid(CID.createV0(d256).bytes)).toThrow()
    expect(decodeBlockCid(CID.createV1(raw.code, d256).bytes).equals(CID.createV1(raw.code, d256))).toBe(true)
  })

  it('digestMatches compares a digest with a CID without making one', () => {
    const data = randomBytes(1000)
    const cid = blockCid(data, 'sha2-256')
    expect(digestMatches(cid, createHash('sha256').update(data).digest())).toBe(true)
    expect(digestMatches(cid, createHash('sha256').update(data.subarray(1)).digest())).toBe(false)
    expect(digestMatches(cid, new Uint8Array(31))).toBe(false)
    expect(blockMatches(cid, data)).toBe(true)
    expect(blockMatches(cid, data.subarray(1))).toBe(false)
  })
})
