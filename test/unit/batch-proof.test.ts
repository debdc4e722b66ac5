import { describe, expect, it, beforeAll } from 'vitest'
import fc from 'fast-check'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { blockCid } from '../../src/hashing/block-cid.ts'
import type { FileRecord } from '../../src/model/file-record.ts'
import { buildBatchTree, leafHash, MAX_BATCH_PROOF_BYTES, openBatchProof } from '../../src/log/batch-proof.ts'
import { InvalidRecordError } from '../../src/log/record-codec.ts'
import { ForgedRecordError, signatureChecks, decodeSignedRecord, encodeSignedRecord, openSignedRecord, signRecords, type SignedRecord } from '../../src/log/signed-record.ts'

let key: PrivateKey
let device: string
let otherKey: PrivateKey
let other: string

beforeAll(async () => {
  key = await generateKeyPair('Ed25519')
  device = peerIdFromPrivateKey(key).toString()
  otherKey = await generateKeyPair('Ed25519')
  other = peerIdFromPrivateKey(otherKey).toString()
})

function records (n: number, dev = device, from = 1): FileRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const data = new TextEncoder().encode(`file ${from + i}`)
    return {
      folder: 'f', device: dev, seq: from + i, path: `d/file-${from + i}.txt`, type: 'file', size: data.byteLength, mode: 0o644,
      mtimeMs: 1_700_000_000_000 + i, deleted: false, modifiedBy: dev, version: { [dev]: from + i }, blocks: [{ cid: blockCid(data), size: data.byteLength }]
    }
  })
}

const flip = (bytes: Uint8Array, at: number): Uint8Array => { const out = bytes.slice(); out[at] = out[at]! ^ 1; return out }

describe('batch signatures', () => {
  it('one record gets a plain 64-byte signature; several share one signed root, each with its own proof', async () => {
    const [single] = await signRecords(records(1), key)
    expect(single!.signature.byteLength).toBe(64)
    await openSignedRecord(single!.bytes, single!.signature)
    for (const n of [2, 3, 5, 17, 64]) {
      const signed = await signRecords(records(n), key)
      const depth = Math.ceil(Math.log2(n))
      for (const s of signed) {
        expect(s.signature.byteLength).toBe(6 + 64 + 32 * depth)
        const opened = await openSignedRecord(s.bytes, s.signature)
        expect(opened.record.seq).toBe(s.record.seq)
      }
      // envelopes round-trip (storage and wire)
      const back = await decodeSignedRecord(encodeSignedRecord(signed[n - 1]!))
      expect(back.record.path).toBe(signed[n - 1]!.record.path)
    }
  })

  it('splits large commits into batches of at most 1024 records', async () => {
    const signed = await signRecords(records(1025 + 2), key)
    expect(signed.slice(0, 1024).every(s => s.signature.byteLength === 6 + 64 + 32 * 10)).toBe(true)
    expect(signed[1024]!.signature.byteLength).toBe(6 + 64 + 32 * 2)
    expect(signed[1026]!.signature.byteLength).toBe(6 + 64 + 32 * 2)
    await Promise.all(signed.map(async s => await openSignedRecord(s.bytes, s.signature)))
    expect(MAX_BATCH_PROOF_BYTES).toBe(6 + 64 + 16 * 32)
  })

  it('any changed byte of the record or of its proof is a forgery', async () => {
    const signed = await signRecords(records(6), key)
    const s = signed[3]!
    // the record itself (any byte: its leaf no longer leads to the signed root)
    const inPath = Buffer.from(s.bytes).indexOf('file-')
    await expect(openSignedRecord(flip(s.bytes, inPath), s.signature)).rejects.toBeInstanceOf(ForgedRecordError)
    // the signature of the root, every sibling, the index
    for (const at of [6, 6 + 63, 6 + 64, 6 + 64 + 31, 6 + 64 + 64, 6 + 64 + 95, 5]) {
      await expect(openSignedRecord(s.bytes, flip(s.signature, at))).rejects.toBeInstanceOf(ForgedRecordError)
    }
    // a record moved to another record's proof
    await expect(openSignedRecord(s.bytes, signed[2]!.signature)).rejects.toBeInstanceOf(ForgedRecordError)
  })

  it('a proof whose root another device signed does not pass for this device', async () => {
    const theirs = await signRecords(records(4, other), otherKey)
    const mine = records(4)
    // same tree shape, our record in their batch: the root differs, and their key is not ours
    for (const s of theirs) await openSignedRecord(s.bytes, s.signature)
    await expect(openSignedRecord((await signRecords(mine, key))[0]!.bytes, theirs[0]!.signature)).rejects.toBeInstanceOf(ForgedRecordError)
  })

  it('malformed proofs are invalid records, not crashes', async () => {
    const [s] = await signRecords(records(2), key)
    const bad: Uint8Array[] = [
      new Uint8Array(0), new Uint8Array(63), new Uint8Array(65),
      Uint8Array.of(2, ...s!.signature.subarray(1)), // unknown format
      Uint8Array.of(1, 0, ...s!.signature.subarray(2)), // depth 0
      Uint8Array.of(1, 17, ...s!.signature.subarray(2)), // depth over 16
      Uint8Array.of(...s!.signature.subarray(0, 2), 0, 0, 0, 2, ...s!.signature.subarray(6)), // index 2 of a 2-leaf tree
      s!.signature.subarray(0, s!.signature.byteLength - 1), // short
      Uint8Array.of(...s!.signature, 0) // long
    ]
    for (const sig of bad) await expect(openSignedRecord(s!.bytes, sig)).rejects.toBeInstanceOf(InvalidRecordError)
  })

  it('trees: every leaf folds to the root, whatever the count (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 300 }), n => {
      const leaves = Array.from({ length: n }, (_, i) => leafHash(new TextEncoder().encode(`r${i}`)))
      const tree = buildBatchTree(leaves)
      expect(tree.depth).toBe(Math.ceil(Math.log2(n)))
      for (let i = 0; i < n; i += Math.max(1, Math.floor(n / 7))) {
        const proof = new Uint8Array(6 + 64 + 32 * tree.depth)
        proof[0] = 1; proof[1] = tree.depth
        new DataView(proof.buffer).setUint32(2, i)
        tree.siblings[i]!.forEach((h, d) => proof.set(h, 70 + d * 32))
        expect(Buffer.from(openBatchProof(new TextEncoder().encode(`r${i}`), proof)!.root).equals(Buffer.from(tree.root))).toBe(true)
      }
    }), { numRuns: 40, seed: 20261122 })
  })

  it('a whole batch checked at once costs one signature check', async () => {
    const signed: SignedRecord[] = await signRecords(records(512, device, 10_000), key)
    const before = signatureChecks.count
    await Promise.all(signed.map(async s => await openSignedRecord(s.bytes, s.signature)))
    expect(signatureChecks.count - before).toBe(1)
    // plainly signed records: one check each
    const plain = await Promise.all(records(8, device, 20_000).map(async r => (await signRecords([r], key))[0]!))
    const before2 = signatureChecks.count
    await Promise.all(plain.map(async s => await openSignedRecord(s.bytes, s.signature)))
    expect(signatureChecks.count - before2).toBe(8)
  })
})
