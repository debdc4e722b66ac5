import { describe, it, expect } from 'vitest'
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { blockCid, blockMatches } from '../../src/hashing/block-cid.ts'
import { MAX_BLOCK_BYTES, MAX_PLAIN_BLOCK_BYTES } from '../../src/log/record-codec.ts'
import { newFolderKey } from '../../src/keys/folder-keyring.ts'
import { openBlock, openBlockOffThread, sealBlock, sealBlockOffThread, sealedPlainLength, sealPaddedOffThread, MIN_SEALED_BLOCK_BYTES } from '../../src/crypto/block-seal.ts'
import { padmeLength } from '../../src/crypto/padding.ts'
import type { CID } from 'multiformats/cid'
import { readAndSeal } from '../../src/replica/sealed-upload.ts'
import { ScratchBuffer } from '../../protocols/blocks/block-bytes.ts'
import { checkPayload, envelopeRecord, openPayload, partHeader, sealPayload, sealedPath } from '../../src/crypto/record-seal.ts'
import { signRecord, openSignedRecord } from '../../src/log/signed-record.ts'
import type { FileRecord } from '../../src/model/file-record.ts'

const bytes = (n: number): Uint8Array => new Uint8Array(randomBytes(n))

describe('block sealing', () => {
  it('round-trips, is convergent per folder key and differs across folder keys', () => {
    const k1 = newFolderKey().key
    const k2 = newFolderKey().key
    const plain = bytes(300_000)
    const cid = blockCid(plain)
    const a = sealBlock(k1, cid, plain)
    const b = sealBlock(k1, cid, plain)
    const c = sealBlock(k2, cid, plain)
    expect(a.cid.equals(b.cid)).toBe(true)
    expect(a.cid.equals(c.cid)).toBe(false)
    expect(blockMatches(a.cid, a.data)).toBe(true)
    expect(Buffer.from(openBlock(k1, cid, plain.byteLength, a.data)).equals(plain)).toBe(true)
    expect(Buffer.from(a.data).includes(Buffer.from(plain.subarray(0, 64)))).toBe(false)
  })

  it('detects tampering, a wrong key and a plaintext of another hash', () => {
    const k = newFolderKey().key
    const plain = bytes(5000)
    const cid = blockCid(plain)
    const s = sealBlock(k, cid, plain)
    const bad = new Uint8Array(s.data)
    bad[10] = bad[10]! ^ 1
    expect(() => openBlock(k, cid, plain.byteLength, bad)).toThrow(/does not open/)
    expect(() => openBlock(newFolderKey().key, cid, plain.byteLength, s.data)).toThrow(/does not open/)
    const other = blockCid(bytes(5000))
    expect(() => openBlock(k, other, plain.byteLength, s.data)).toThrow(/does not open/)
  })

  it('off the event loop: the same sealed bytes, opened either way, and tampering still detected', async () => {
    const k = newFolderKey().key
    for (const n of [1, 5000, 300_000, MAX_PLAIN_BLOCK_BYTES]) {
      const plain = bytes(n)
      const cid = blockCid(plain)
      const sync = sealBlock(k, cid, plain)
      const off = await sealBlockOffThread(k, cid, plain)
      expect(off.cid.equals(sync.cid)).toBe(true)
      expect(Buffer.from(off.data).equals(Buffer.from(sync.data))).toBe(true)
      expect(Buffer.from(await openBlockOffThread(k, cid, n, sync.data)).equals(plain)).toBe(true)
      expect(Buffer.from(openBlock(k, cid, n, off.data)).equals(plain)).toBe(true)
      const bad = new Uint8Array(off.data)
      bad[0] = bad[0]! ^ 1
      await expect(openBlockOffThread(k, cid, n, bad)).rejects.toThrow(/does not open/)
      await expect(openBlockOffThread(newFolderKey().key, cid, n, off.data)).rejects.toThrow(/does not open/)
      await expect(openBlockOffThread(k, cid, n, off.data.subarray(0, 10))).rejects.toThrow(/does not open/)
    }
  })

  it('sealed from a buffer reused block after block (padded in place over the last block\'s bytes): the same bytes', async () => {
    const k = newFolderKey().key
    const scratch = new Uint8Array(sealedPlainLength(MAX_PLAIN_BLOCK_BYTES)).fill(0xff)
    // largest first: each later block lands on what the one before left behind
    for (const n of [MAX_PLAIN_BLOCK_BYTES, 300_000, 5000, 1]) {
      const plain = bytes(n)
      const cid = blockCid(plain)
      const padded = scratch.subarray(0, sealedPlainLength(n))
      padded.set(plain)
      padded.fill(0, n)
      const off = await sealPaddedOffThread(k, cid, padded)
      const sync = sealBlock(k, cid, plain)
      expect(off.cid.equals(sync.cid)).toBe(true)
      expect(Buffer.from(off.data).equals(Buffer.from(sync.data))).toBe(true)
      expect(Buffer.from(openBlock(k, cid, n, off.data)).equals(plain)).toBe(true)
    }
  })

  it('an upload\'s read-and-seal through one reused buffer gives sealBlock\'s bytes, largest block first (padding zeroed over the last block\'s bytes), and from a reader\'s own buffer too', async () => {
    const k = newFolderKey().key
    const scratch = new ScratchBuffer()
    const plains = [MAX_PLAIN_BLOCK_BYTES, 300_000, 5000, 1].map(n => bytes(n))
    const byCid = new Map(plains.map(p => [blockCid(p).toString(), p]))
    const intoGiven = async (cid: CID, size: number, into?: Uint8Array): Promise<Uint8Array> => { const out = into!.subarray(0, size); out.set(byCid.get(cid.toString())!); return out }
    const ownBuffer = async (cid: CID): Promise<Uint8Array> => byCid.get(cid.toString())!
    for (const read of [intoGiven, ownBuffer]) {
      for (const plain of plains) {
        const cid = blockCid(plain)
        const s = await readAndSeal(k, { cid, size: plain.byteLength }, read, scratch)
        const sync = sealBlock(k, cid, plain)
        expect(s?.cid.equals(sync.cid)).toBe(true)
        expect(Buffer.from(s!.data).equals(Buffer.from(sync.data))).toBe(true)
      }
    }
    expect(await readAndSeal(k, { cid: blockCid(bytes(7)), size: 7 }, async () => undefined, scratch)).toBeUndefined()
  })

  it('pads to Padmé lengths, never below the minimum, never over the largest block', () => {
    const k = newFolderKey().key
    const tiny = bytes(10)
    expect(sealBlock(k, blockCid(tiny), tiny).data.byteLength).toBe(MIN_SEALED_BLOCK_BYTES + 16)
    const max = bytes(MAX_PLAIN_BLOCK_BYTES)
    expect(sealBlock(k, blockCid(max), max).data.byteLength).toBe(MAX_BLOCK_BYTES)
    for (const n of [65_537, 300_001, 999_999]) {
      const p = padmeLength(n)
      expect(p).toBeGreaterThanOrEqual(n)
      expect(p / n).toBeLessThan(1.13)
    }
    // lengths close together seal to one length
    expect(padmeLength(300_001)).toBe(padmeLength(300_100))
  })
})

describe('record sealing', () => {
  it('round-trips a signed record with its block map, binds it to its envelope, and detects tampering', async () => {
    const key = await generateKeyPair('Ed25519')
    const device = peerIdFromPrivateKey(key).toString()
    const fk = newFolderKey()
    const plain = bytes(70_000)
    const pcid = blockCid(plain)
    const sealed = sealBlock(fk.key, pcid, plain)
    const inner: FileRecord = { folder: 'docs', device, seq: 7, path: 'secret-name.txt', type: 'file', size: plain.byteLength, mode: 0o644, mtimeMs: 1234, deleted: false, modifiedBy: device, version: { [device]: 3 }, blocks: [{ cid: pcid, size: plain.byteLength }] }
    const signed = await signRecord(inner, key)
    const blocks = [{ plainCid: pcid, plainSize: plain.byteLength, cid: sealed.cid, size: sealed.data.byteLength }]
    const parts = sealPayload(fk, { bytes: signed.bytes, signature: signed.signature, blocks })
    expect(sealPayload(fk, { bytes: signed.bytes, signature: signed.signature, blocks })[0]!.cid.equals(parts[0]!.cid)).toBe(true)
    expect(partHeader(parts[0]!.data)).toEqual({ parts: 1, keyId: fk.id })
    const envelope = envelopeRecord({ inner, path: sealedPath(fk.key, inner.path), parts, blocks })
    expect(envelope.path).not.toContain('secret')
    const env = await signRecord(envelope, key)
    expect(Buffer.from(env.bytes).includes(Buffer.from('secret-name'))).toBe(false)
    await openSignedRecord(env.bytes, env.signature)
    const opened = openPayload(fk, parts.map(p => p.data))
    expect(Buffer.from(opened.signature).equals(Buffer.from(signed.signature))).toBe(true)
    expect(checkPayload(envelope, opened).path).toBe('secret-name.txt')
    expect(() => checkPayload({ ...envelope, seq: 8 }, opened)).toThrow(/does not match/)
    const bad = new Uint8Array(parts[0]!.data)
    bad[bad.byteLength - 1] = bad[bad.byteLength - 1]! ^ 1
    expect(() => openPayload(fk, [bad])).toThrow(/does not open/)
    expect(() => openPayload({ ...newFolderKey(), id: fk.id }, parts.map(p => p.data))).toThrow(/does not open/)
  })

  it('splits a large payload into parts of at most one block', () => {
    const fk = newFolderKey()
    const big = { bytes: bytes(3 * 1024 * 1024), signature: bytes(64), blocks: [] }
    const parts = sealPayload(fk, big)
    expect(parts.length).toBeGreaterThan(2)
    for (const p of parts) expect(p.data.byteLength).toBeLessThanOrEqual(MAX_BLOCK_BYTES)
    expect(Buffer.from(openPayload(fk, parts.map(p => p.data)).bytes).equals(Buffer.from(big.bytes))).toBe(true)
    expect(() => openPayload(fk, parts.slice(0, -1).map(p => p.data))).toThrow()
  })
})
