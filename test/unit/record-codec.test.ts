import { describe, expect, it, beforeAll } from 'vitest'
import fc from 'fast-check'
import { encode } from 'cborg'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { create as createDigest } from 'multiformats/hashes/digest'
import { createHash } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import {
  encodeRecord, decodeRecord, InvalidRecordError, MAX_RECORD_BYTES, RECORD_FORMAT, MAX_BLOCKS_PER_RECORD, MAX_VERSION_ENTRIES
} from '../../src/log/record-codec.ts'
import {
  signRecord, openSignedRecord, encodeSignedRecord, decodeSignedRecord, decodeStoredRecord, ForgedRecordError
} from '../../src/log/signed-record.ts'
import { blockCid } from '../../src/hashing/block-cid.ts'
import type { FileRecord } from '../../src/model/file-record.ts'
import { FerryError } from '../../src/errors.ts'

const SEED = 20261122
const DAG_PB = 0x70

function bytesOf (n: number, fill: number): Uint8Array {
  return new Uint8Array(n).fill(fill)
}

function sha256 (bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest())
}

const block1 = bytesOf(1000, 1)
const block2 = bytesOf(2345, 2)
const cid1 = blockCid(block1)
const cid2 = blockCid(block2)

function fileRecord (fields: Partial<FileRecord> = {}): FileRecord {
  return {
    folder: 'folder-1',
    device: 'device-A',
    seq: 7,
    path: 'docs/report.txt',
    type: 'file',
    size: 1000 + 2345,
    mode: 0o644,
    mtimeMs: 1_700_000_000_123,
    deleted: false,
    modifiedBy: 'device-B',
    version: { 'device-B': 3, 'device-A': 7 },
    blocks: [{ cid: cid1, size: 1000 }, { cid: cid2, size: 2345 }],
    ...fields
  }
}

const dirRecord = (): FileRecord => fileRecord({ path: 'docs', type: 'dir', size: 0, mode: 0o755, blocks: [] })
const tombstone = (): FileRecord => fileRecord({ deleted: true, size: 0, blocks: [] })

/** comparable form: CIDs as strings */
function plain (r: FileRecord): unknown {
  return { ...r, blocks: r.blocks.map(b => ({ cid: b.cid.toString(), size: b.size })) }
}

/** The CBOR array layout of encodeRecord, for tampering one field at a time. */
function fields (r: FileRecord): unknown[] {
  const version = Object.entries(r.version).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
  return [
    RECORD_FORMAT, r.folder, r.device, r.seq, r.path, r.type === 'dir' ? 1 : 0, r.size, r.mode,
    r.mtimeMs, r.deleted, r.modifiedBy, version, r.blocks.map(b => [b.cid.bytes, b.size])
  ]
}

function withField (r: FileRecord, index: number, value: unknown): Uint8Array {
  const f = fields(r)
  f[index] = value
  return encode(f)
}

function expectInvalidRecord (bytes: Uint8Array): void {
  let caught: unknown
  try {
    decodeRecord(bytes)
  } catch (err) {
    caught = err
  }
  expect(caught).toBeInstanceOf(InvalidRecordError)
  expect((caught as FerryError).name).toBe('InvalidRecordError')
  expect((caught as FerryError).code).toBe('ERR_FERRY_INVALID_RECORD')
}

async function expectRejects (p: Promise<unknown>, names: string[]): Promise<FerryError> {
  let caught: unknown
  try {
    await p
  } catch (err) {
    caught = err
  }
  expect(caught).toBeInstanceOf(FerryError)
  const e = caught as FerryError
  expect(names).toContain(e.name)
  expect(e.code.startsWith('ERR_FERRY_')).toBe(true)
  return e
}

describe('record codec round trip', () => {
  it.each([
    ['file', fileRecord()],
    ['dir', dirRecord()],
    ['tombstone', tombstone()],
    ['empty file', fileRecord({ size: 0, blocks: [] })],
    ['executable file, unicode path', fileRecord({ path: 'b\u00e9ta/\u65e5\u672c.sh', mode: 0o755, version: { x: 1 } })]
  ])('%s', (_what, r) => {
    const bytes = encodeRecord(r)
    const back = decodeRecord(bytes)
    expect(plain(back)).toEqual(plain(r))
    expect(back.blocks.every((b, i) => b.cid.equals(r.blocks[i]!.cid))).toBe(true)
    // canonical: re-encoding gives the same bytes
    expect(encodeRecord(back)).toEqual(bytes)
  })

  it('encodes the version vector independently of key order', () => {
    const a = encodeRecord(fileRecord({ version: { b: 1, a: 2, c: 3 } }))
    const b = encodeRecord(fileRecord({ version: { c: 3, a: 2, b: 1 } }))
    expect(a).toEqual(b)
  })
})

describe('decodeRecord rejects', () => {
  const valid = encodeRecord(fileRecord())

  it('every truncated prefix of a valid encoding', () => {
    for (let n = 0; n < valid.byteLength; n++) expectInvalidRecord(valid.subarray(0, n))
  })

  it('trailing bytes after a valid encoding', () => {
    const longer = new Uint8Array(valid.byteLength + 1)
    longer.set(valid)
    expectInvalidRecord(longer)
  })

  it('garbage bytes (seeded random)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 512 }), bytes => {
      expectInvalidRecord(bytes)
    }), { seed: SEED, numRuns: 1000 })
  })

  it('random single-byte corruptions of a valid encoding, unless they still decode to a valid record', () => {
    fc.assert(fc.property(fc.nat({ max: valid.byteLength - 1 }), fc.integer({ min: 1, max: 255 }), (i, x) => {
      const b = valid.slice()
      b[i] = b[i]! ^ x
      try {
        const r = decodeRecord(b)
        // a corruption that still decodes must yield a schema-valid record: re-encoding and
        // decoding it again is stable (byte equality is not required, see the report on UTF-8)
        expect(plain(decodeRecord(encodeRecord(r)))).toEqual(plain(r))
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidRecordError)
      }
    }), { seed: SEED, numRuns: 1000 })
  })

  it('oversized input', () => {
    expectInvalidRecord(new Uint8Array(MAX_RECORD_BYTES + 1))
  })

  it('non-array or wrong array length', () => {
    expectInvalidRecord(encode({ a: 1 }))
    expectInvalidRecord(encode('record'))
    expectInvalidRecord(encode(fields(fileRecord()).slice(0, 12)))
    expectInvalidRecord(encode([...fields(fileRecord()), 0]))
    expectInvalidRecord(encode([]))
  })

  it('unknown format', () => {
    const r = fileRecord()
    expectInvalidRecord(withField(r, 0, 0))
    expectInvalidRecord(withField(r, 0, 2))
    expectInvalidRecord(withField(r, 0, '1'))
  })

  const r = fileRecord()
  it.each([
    ['folder number', 1, 5],
    ['folder empty', 1, ''],
    ['folder too long', 1, 'f'.repeat(257)],
    ['folder bytes', 1, new Uint8Array([1])],
    ['device number', 2, 1],
    ['device empty', 2, ''],
    ['device null', 2, null],
    ['seq string', 3, '7'],
    ['seq negative', 3, -1],
    ['seq float', 3, 7.5],
    ['seq zero', 3, 0],
    ['seq unsafe', 3, 2 ** 53],
    ['path number', 4, 1],
    ['path empty', 4, ''],
    ['path bytes', 4, new TextEncoder().encode('a')],
    ['type 2', 5, 2],
    ['type string', 5, 'file'],
    ['type bool', 5, true],
    ['size string', 6, '3345'],
    ['size float', 6, 3345.5],
    ['size negative', 6, -3345],
    ['mode string', 7, '644'],
    ['mode too large', 7, 0o10000],
    ['mode float', 7, 420.5],
    ['mtime string', 8, '1700000000123'],
    ['mtime float', 8, 1_700_000_000_123.5],
    ['mtime negative', 8, -1],
    ['deleted number', 9, 0],
    ['deleted string', 9, 'false'],
    ['modifiedBy number', 10, 1],
    ['modifiedBy empty', 10, ''],
    ['version map', 11, { 'device-A': 7 }],
    ['version entry not pair', 11, [['device-A', 7, 1]]],
    ['version entry bad device', 11, [[1, 7]]],
    ['version entry empty device', 11, [['', 7]]],
    ['version entry bad counter', 11, [['device-A', -1]]],
    ['version entry float counter', 11, [['device-A', 1.5]]],
    ['version entry duplicate', 11, [['device-A', 1], ['device-A', 2]]],
    ['version too many entries', 11, Array.from({ length: MAX_VERSION_ENTRIES + 1 }, (_, i) => [`d${i}`, 1])],
    ['blocks map', 12, { 0: [cid1.bytes, 1000] }],
    ['blocks entry not pair', 12, [[cid1.bytes]]],
    ['blocks entry cid string', 12, [[cid1.toString(), 1000], [cid2.bytes, 2345]]],
    ['blocks entry bad cid bytes', 12, [[new Uint8Array([1, 2, 3]), 1000], [cid2.bytes, 2345]]],
    ['blocks entry zero size', 12, [[cid1.bytes, 0], [cid1.bytes, 1000], [cid2.bytes, 2345]]],
    ['blocks entry float size', 12, [[cid1.bytes, 999.5], [cid2.bytes, 2345.5]]],
    ['blocks entry negative size', 12, [[cid1.bytes, -1000], [cid2.bytes, 4345]]],
    ['blocks entry size over 64 MiB', 12, [[cid1.bytes, 64 * 1024 * 1024 + 1]]]
  ])('wrong field: %s', (_what, index, value) => {
    expectInvalidRecord(withField(r, index, value))
  })

  it('too many blocks', () => {
    const list = Array.from({ length: MAX_BLOCKS_PER_RECORD + 1 }, () => [cid1.bytes, 1])
    const f = fields(fileRecord({ size: MAX_BLOCKS_PER_RECORD + 1 }))
    f[12] = list
    expectInvalidRecord(encode(f))
  })

  it('non-canonical or invalid paths', () => {
    for (const p of ['a/../b', '/abs', 'a//b', '.ferry/x', 'a\\b', 'caf\u0065\u0301.txt']) {
      expectInvalidRecord(withField(r, 4, p))
    }
    // the NFC form of the same name is fine
    expect(decodeRecord(withField(r, 4, 'caf\u00e9.txt')).path).toBe('caf\u00e9.txt')
  })

  it('block sizes not adding up to size', () => {
    expectInvalidRecord(encodeRecord(fileRecord({ size: 3344 })))
    expectInvalidRecord(encodeRecord(fileRecord({ size: 3346 })))
    expectInvalidRecord(encodeRecord(fileRecord({ size: 0 })))
    expectInvalidRecord(encodeRecord(fileRecord({ size: 1000, blocks: [] })))
  })

  it('blocks on a dir or a tombstone', () => {
    const blocks = [{ cid: cid1, size: 1000 }]
    expectInvalidRecord(encodeRecord(fileRecord({ type: 'dir', size: 1000, blocks })))
    expectInvalidRecord(encodeRecord(fileRecord({ deleted: true, size: 1000, blocks })))
    expectInvalidRecord(encodeRecord(fileRecord({ type: 'dir', deleted: true, size: 1000, blocks })))
  })

  it('seq 0', () => {
    expectInvalidRecord(encodeRecord(fileRecord({ seq: 0 })))
  })

  it('block CIDs that are not CIDv1/raw/sha2-256', () => {
    const digest = createDigest(0x12, sha256(block1))
    const notRaw = [
      CID.createV0(digest), // dag-pb CIDv0
      CID.createV1(DAG_PB, digest), // dag-pb CIDv1
      CID.createV1(0x71, digest), // dag-cbor
      CID.createV1(raw.code, createDigest(0x00, block1.subarray(0, 16))), // identity hash
      CID.createV1(raw.code, createDigest(0x13, new Uint8Array(64))), // sha2-512
      CID.createV1(raw.code, createDigest(0x12, sha256(block1).subarray(0, 20))) // truncated sha2-256
    ]
    for (const cid of notRaw) {
      const f = fields(fileRecord({ size: 1000 }))
      f[12] = [[cid.bytes, 1000]]
      expectInvalidRecord(encode(f))
    }
    // CID bytes with a trailing byte
    const padded = new Uint8Array(cid1.bytes.byteLength + 1)
    padded.set(cid1.bytes)
    const f = fields(fileRecord({ size: 1000 }))
    f[12] = [[padded, 1000]]
    expectInvalidRecord(encode(f))
  })

  it('floats and negatives in size', () => {
    expectInvalidRecord(encodeRecord(fileRecord({ type: 'dir', size: 1.5, blocks: [] })))
    expectInvalidRecord(encodeRecord(fileRecord({ type: 'dir', size: -1, blocks: [] })))
    expectInvalidRecord(encodeRecord(fileRecord({ deleted: true, size: -0.5, blocks: [] })))
    expectInvalidRecord(encodeRecord(fileRecord({ type: 'dir', size: Number.NaN, blocks: [] })))
    expectInvalidRecord(encodeRecord(fileRecord({ type: 'dir', size: Number.POSITIVE_INFINITY, blocks: [] })))
  })

  it('non-strict CBOR (indefinite length, undefined)', () => {
    const valid13 = encode(fields(fileRecord()))
    // indefinite-length array header 0x9f ... 0xff around the same items
    const indefinite = new Uint8Array(valid13.byteLength + 1)
    indefinite[0] = 0x9f
    indefinite.set(valid13.subarray(1), 1)
    indefinite[indefinite.byteLength - 1] = 0xff
    expectInvalidRecord(indefinite)
    // undefined in place of modifiedBy
    const f = fields(fileRecord())
    f[10] = '\u0000PLACEHOLDER'
    const withPlaceholder = encode(f)
    const marker = new TextEncoder().encode('\u0000PLACEHOLDER')
    const at = indexOf(withPlaceholder, marker) - 1 // the text header byte
    const withUndefined = new Uint8Array([...withPlaceholder.subarray(0, at), 0xf7, ...withPlaceholder.subarray(at + 1 + marker.byteLength)])
    expectInvalidRecord(withUndefined)
  })
})

function indexOf (hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.byteLength <= hay.byteLength; i++) {
    for (let j = 0; j < needle.byteLength; j++) if (hay[i + j] !== needle[j]) continue outer
    return i
  }
  return -1
}

describe('signed records', () => {
  let keyA: PrivateKey
  let keyB: PrivateKey
  let idA: string
  let idB: string

  beforeAll(async () => {
    keyA = await generateKeyPair('Ed25519')
    keyB = await generateKeyPair('Ed25519')
    idA = peerIdFromPrivateKey(keyA).toString()
    idB = peerIdFromPrivateKey(keyB).toString()
  })

  const ownRecord = (): FileRecord => fileRecord({ device: idA, modifiedBy: idA, version: { [idA]: 7 } })

  it('signRecord + openSignedRecord round trip', async () => {
    const s = await signRecord(ownRecord(), keyA)
    expect(s.signature.byteLength).toBe(64)
    expect(Uint8Array.from(s.bytes)).toEqual(Uint8Array.from(encodeRecord(ownRecord())))
    const opened = await openSignedRecord(s.bytes, s.signature)
    expect(plain(opened.record)).toEqual(plain(ownRecord()))
    expect(Uint8Array.from(opened.bytes)).toEqual(Uint8Array.from(s.bytes))
    expect(Uint8Array.from(opened.signature)).toEqual(Uint8Array.from(s.signature))
  })

  it('encodeSignedRecord + decodeSignedRecord / decodeStoredRecord round trip', async () => {
    for (const r of [ownRecord(), { ...dirRecord(), device: idA }, { ...tombstone(), device: idA }]) {
      const s = await signRecord(r, keyA)
      const env = encodeSignedRecord(s)
      const back = await decodeSignedRecord(env)
      expect(plain(back.record)).toEqual(plain(r))
      expect(Uint8Array.from(back.bytes)).toEqual(Uint8Array.from(s.bytes))
      expect(Uint8Array.from(back.signature)).toEqual(Uint8Array.from(s.signature))
      expect(plain(decodeStoredRecord(env).record)).toEqual(plain(r))
    }
  })

  it('a one-bit change anywhere in the record bytes is rejected', async () => {
    const s = await signRecord(ownRecord(), keyA)
    for (let i = 0; i < s.bytes.byteLength; i++) {
      const b = s.bytes.slice()
      b[i] = b[i]! ^ (1 << (i % 8))
      await expectRejects(openSignedRecord(b, s.signature), ['ForgedRecordError', 'InvalidRecordError'])
    }
  })

  it('a one-bit change anywhere in the signature is a ForgedRecordError', async () => {
    const s = await signRecord(ownRecord(), keyA)
    for (let bit = 0; bit < s.signature.byteLength * 8; bit++) {
      const sig = s.signature.slice()
      sig[bit >> 3] = sig[bit >> 3]! ^ (1 << (bit & 7))
      const e = await expectRejects(openSignedRecord(s.bytes, sig), ['ForgedRecordError'])
      expect(e).toBeInstanceOf(ForgedRecordError)
      expect(e.code).toBe('ERR_FERRY_FORGED_RECORD')
    }
  })

  it('a record naming another device but signed by key A is a ForgedRecordError', async () => {
    const claimsB = fileRecord({ device: idB, modifiedBy: idB, version: { [idB]: 7 } })
    const s = await signRecord(claimsB, keyA)
    const e = await expectRejects(openSignedRecord(s.bytes, s.signature), ['ForgedRecordError'])
    expect(e.code).toBe('ERR_FERRY_FORGED_RECORD')
    await expectRejects(decodeSignedRecord(encodeSignedRecord(s)), ['ForgedRecordError'])
    // the same record signed by B itself is fine
    const ok = await signRecord(claimsB, keyB)
    expect((await openSignedRecord(ok.bytes, ok.signature)).record.device).toBe(idB)
  })

  it('a device that is not a peer id is an InvalidRecordError', async () => {
    const s = await signRecord(fileRecord({ device: 'not-a-peer-id' }), keyA)
    const e = await expectRejects(openSignedRecord(s.bytes, s.signature), ['InvalidRecordError'])
    expect(e.code).toBe('ERR_FERRY_INVALID_RECORD')
  })

  it('signatures of the wrong length are InvalidRecordError', async () => {
    const s = await signRecord(ownRecord(), keyA)
    await expectRejects(openSignedRecord(s.bytes, s.signature.subarray(0, 63)), ['InvalidRecordError'])
    await expectRejects(openSignedRecord(s.bytes, new Uint8Array(65)), ['InvalidRecordError'])
    await expectRejects(openSignedRecord(s.bytes, new Uint8Array(0)), ['InvalidRecordError'])
  })

  it('decodeSignedRecord rejects garbage envelopes', async () => {
    const s = await signRecord(ownRecord(), keyA)
    const envelopes: Uint8Array[] = [
      new Uint8Array(0),
      new Uint8Array([0xff, 0x00, 0x13]),
      encode('hello'),
      encode([]),
      encode([s.bytes]),
      encode([s.bytes, s.signature, s.signature]),
      encode(['bytes', s.signature]),
      encode([s.bytes, 'sig']),
      encode({ bytes: s.bytes, signature: s.signature }),
      encode([s.bytes, s.signature.subarray(0, 32)]),
      encode([new Uint8Array([1, 2, 3]), s.signature]),
      encodeSignedRecord(s).subarray(0, 40),
      new Uint8Array(MAX_RECORD_BYTES + 129)
    ]
    for (const env of envelopes) {
      await expectRejects(decodeSignedRecord(env), ['InvalidRecordError'])
    }
    const rng = fc.sample(fc.uint8Array({ minLength: 0, maxLength: 300 }), { seed: SEED, numRuns: 200 })
    for (const env of rng) await expectRejects(decodeSignedRecord(env), ['InvalidRecordError'])
  })
})
