import { describe, expect, it } from 'vitest'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { from as hasherFrom } from 'multiformats/hashes/hasher'
import { sha256 } from 'multiformats/hashes/sha2'
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js'
import { Uint8ArrayList } from 'uint8arraylist'
import {
  BLAKE3_CODE, blockCid, blockCidAsync, blockHashOf, blockMatches, cidKey, decodeBlockCid, DEFAULT_BLOCK_HASH, isBlockCid
} from '../../src/hashing/block-cid.ts'
import { readFileBlocks } from '../../src/chunker/file-blocks.ts'
import { blockBytesMatch } from '../../protocols/blocks/block-bytes.ts'

/** a multiformats hasher over an independent BLAKE3 (pure JS), not the native binding ferry uses */
const blake3Reference = hasherFrom({ name: 'blake3', code: 0x1e, encode: (bytes: Uint8Array) => nobleBlake3(bytes) })

async function referenceCid (bytes: Uint8Array): Promise<CID> {
  return CID.createV1(raw.code, await blake3Reference.digest(bytes))
}

describe('blake3 block cids', () => {
  it('new blocks are named by blake3 (multihash 0x1e, 32 bytes)', () => {
    expect(DEFAULT_BLOCK_HASH).toBe('blake3')
    const cid = blockCid(new Uint8Array(10))
    expect(cid.multihash.code).toBe(BLAKE3_CODE)
    expect(cid.multihash.size).toBe(32)
    expect(blockHashOf(cid)).toBe('blake3')
  })

  it('equal what multiformats makes with a blake3 hasher, for blocks of every size and views into bigger buffers', async () => {
    const buf = randomBytes(1 << 20)
    const views: Uint8Array[] = [new Uint8Array(0), buf.subarray(0, 1), buf.subarray(3, 1027), buf.subarray(17, 300_001), buf]
    for (let n = 0; n < 200; n++) views.push(randomBytes(n * 37))
    for (const bytes of views) {
      const ref = await referenceCid(bytes)
      const cid = blockCid(bytes)
      expect(cid.equals(ref)).toBe(true)
      expect(cid.bytes).toEqual(ref.bytes)
      expect(cid.toString()).toBe(ref.toString())
      expect(cidKey(cid)).toBe(ref.toString())
      expect((await blockCidAsync(bytes)).equals(ref)).toBe(true)
      expect(decodeBlockCid(ref.bytes).equals(ref)).toBe(true)
    }
  })

  it('match the published BLAKE3 test vector of the empty input', () => {
    expect(Buffer.from(blockCid(new Uint8Array(0)).multihash.digest).toString('hex'))
      .toBe('af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262')
  })

  it('each CID is verified with the hash it names, never the other one', () => {
    const data = randomBytes(5000)
    const b3 = blockCid(data, 'blake3')
    const s2 = blockCid(data, 'sha2-256')
    expect(Buffer.from(s2.multihash.digest).equals(createHash('sha256').update(data).digest())).toBe(true)
    for (const cid of [b3, s2]) {
      expect(isBlockCid(cid)).toBe(true)
      expect(blockMatches(cid, data)).toBe(true)
      expect(blockMatches(cid, data.subarray(1))).toBe(false)
      // in pieces, as blocks arrive from the network
      expect(blockBytesMatch(cid, new Uint8ArrayList(data.subarray(0, 1000), data.subarray(1000, 1001), data.subarray(1001)))).toBe(true)
      expect(blockBytesMatch(cid, new Uint8ArrayList(data.subarray(0, 1000), data.subarray(1001)))).toBe(false)
    }
    // a blake3 digest under the sha2-256 code (or the reverse) names other bytes: refused
    const swapped = decodeBlockCid(Uint8Array.from([0x01, 0x55, 0x12, 0x20, ...b3.multihash.digest]))
    expect(blockMatches(swapped, data)).toBe(false)
    const swappedBack = decodeBlockCid(Uint8Array.from([0x01, 0x55, 0x1e, 0x20, ...s2.multihash.digest]))
    expect(blockMatches(swappedBack, data)).toBe(false)
  })

  it('a block whose bytes do not match its blake3 CID is refused, whatever the corruption', () => {
    const data = randomBytes(70_000)
    const cid = blockCid(data)
    for (const at of [0, 1, 1023, 1024, 35_000, 69_999]) {
      const bad = Buffer.from(data)
      bad[at] = bad[at]! ^ 1
      expect(blockMatches(cid, bad)).toBe(false)
      expect(blockBytesMatch(cid, new Uint8ArrayList(bad.subarray(0, 500), bad.subarray(500)))).toBe(false)
    }
    expect(blockMatches(cid, Buffer.concat([data, Buffer.alloc(1)]))).toBe(false)
  })

  it('decodeBlockCid takes sha2-256 and blake3 block ids only, 32-byte digests in their shortest form', () => {
    const digest = randomBytes(32)
    const ok = (code: number): Uint8Array => Uint8Array.from([0x01, 0x55, code, 0x20, ...digest])
    expect(blockHashOf(decodeBlockCid(ok(0x12)))).toBe('sha2-256')
    expect(blockHashOf(decodeBlockCid(ok(0x1e)))).toBe('blake3')
    for (const code of [0x13, 0x1f, 0x1b, 0xb220 & 0x7f]) expect(() => decodeBlockCid(ok(code))).toThrow()
    expect(() => decodeBlockCid(Uint8Array.from([0x01, 0x55, 0x1e, 0x40, ...digest, ...digest]))).toThrow()
    expect(() => decodeBlockCid(Uint8Array.from([0x01, 0x55, 0x1e, 0x1f, ...digest.subarray(1)]))).toThrow()
    expect(() => decodeBlockCid(Uint8Array.from([0x01, 0x71, 0x1e, 0x20, ...digest]))).toThrow()
  })
})

describe('readFileBlocks names blocks by blake3', () => {
  it('small and big files (one read, and the windowed reader): every CID is the reference blake3 of its bytes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-blake3-'))
    try {
      for (const size of [100, 200 * 1024, 5 * 1024 * 1024 + 7]) {
        const data = randomBytes(size)
        const path = join(dir, `f-${size}`)
        await writeFile(path, data)
        for (const sizeHint of [size, undefined]) {
          let at = 0
          for await (const b of readFileBlocks(path, sizeHint === undefined ? {} : { sizeHint })) {
            expect(b.offset).toBe(at)
            expect(b.cid.equals(await referenceCid(data.subarray(b.offset, b.offset + b.size)))).toBe(true)
            at += b.size
          }
          expect(at).toBe(size)
        }
        // a reader told to make sha2-256 blocks still can (stores made before blake3)
        for await (const b of readFileBlocks(path, { hash: 'sha2-256' })) {
          expect(b.cid.equals(CID.createV1(raw.code, await sha256.digest(data.subarray(b.offset, b.offset + b.size))))).toBe(true)
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
