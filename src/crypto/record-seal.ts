import { createCipheriv, createDecipheriv, createHmac, hkdfSync } from 'node:crypto'
import { encode, decode } from 'cborg'
import type { CID } from 'multiformats/cid'
import { blockCid, cidKey, decodeBlockCid } from '../hashing/block-cid.ts'
import { MAX_BLOCK_BYTES, decodeRecord } from '../log/record-codec.ts'
import type { BlockRef, FileRecord } from '../model/file-record.ts'
import type { FolderKey } from '../keys/folder-keyring.ts'
import { padmeLength, zeroPadded } from './padding.ts'
import { SEAL_CIPHER, SEAL_TAG_BYTES, type SealedBlock } from './block-seal.ts'
import { SealOpenError } from './seal-errors.ts'
import { FerryError } from '../errors.ts'

const MAGIC = new TextEncoder().encode('fsr1')
const KEY_ID_BYTES = 16
const NONCE_BYTES = 12
/** magic, key id, nonce, part index (u16), parts (u16) */
export const PART_HEADER_BYTES = MAGIC.byteLength + KEY_ID_BYTES + NONCE_BYTES + 4
const PART_DATA_BYTES = MAX_BLOCK_BYTES - PART_HEADER_BYTES
/** a sealed record payload is never shorter than this */
export const MIN_SEALED_RECORD_BYTES = 1024
/** where sealed records live on a relay: `sealed/<hex tag of the path>` */
export const SEALED_PATH_PREFIX = 'sealed/'
const PAYLOAD_FORMAT = 1

/** One block of the plaintext record as the relay holds it. */
export interface SealedBlockRef { plainCid: CID, plainSize: number, cid: CID, size: number }

/** What a sealed record carries: the author's exact signed bytes, and where its blocks went. */
export interface RecordPayload {
  bytes: Uint8Array
  signature: Uint8Array
  blocks: SealedBlockRef[]
}

const kdf = (key: Uint8Array, info: string): Uint8Array => new Uint8Array(hkdfSync('sha256', key, new Uint8Array(0), info, 32))

/**
 * The path a relay files a sealed record under: an HMAC of the plaintext path, so the relay
 * keeps each device's newest version of a file (and its history) together without its name.
 * Keyed by the folder's first key (`tagKey`), so a rekey does not scatter a file's versions.
 */
export function sealedPath (tagKey: Uint8Array, path: string): string {
  return SEALED_PATH_PREFIX + createHmac('sha256', kdf(tagKey, 'ferry path tag v1')).update(path).digest('hex')
}

/**
 * Seals a payload under `key`: cbor, a length prefix, zero padding to a Padmé length, then
 * AES-256-GCM with a synthetic nonce (an HMAC of the padded plaintext: the same record seals to
 * the same bytes, and two different records get the same nonce only with probability 2^-96 per
 * pair). Split into parts of at most one block, each a block the relay stores like any other.
 */
export function sealPayload (key: FolderKey, payload: RecordPayload): SealedBlock[] {
  const body = encode([PAYLOAD_FORMAT, payload.bytes, payload.signature, payload.blocks.map(b => [b.plainCid.bytes, b.plainSize, b.cid.bytes, b.size])])
  const framed = new Uint8Array(4 + body.byteLength)
  new DataView(framed.buffer).setUint32(0, body.byteLength)
  framed.set(body, 4)
  const padded = zeroPadded(framed, padmeLength(framed.byteLength, MIN_SEALED_RECORD_BYTES))
  const nonce = createHmac('sha256', kdf(key.key, 'ferry record nonce v1')).update(padded).digest().subarray(0, NONCE_BYTES)
  const keyId = Buffer.from(key.id, 'hex')
  const cipher = createCipheriv(SEAL_CIPHER, kdf(key.key, 'ferry record seal v1'), nonce)
  cipher.setAAD(Buffer.concat([MAGIC, keyId]))
  const ct = Buffer.concat([cipher.update(padded), cipher.final(), cipher.getAuthTag()])
  const parts = Math.ceil(ct.byteLength / PART_DATA_BYTES)
  const out: SealedBlock[] = []
  for (let i = 0; i < parts; i++) {
    const slice = ct.subarray(i * PART_DATA_BYTES, (i + 1) * PART_DATA_BYTES)
    const data = new Uint8Array(PART_HEADER_BYTES + slice.byteLength)
    data.set(MAGIC, 0)
    data.set(keyId, MAGIC.byteLength)
    data.set(nonce, MAGIC.byteLength + KEY_ID_BYTES)
    const view = new DataView(data.buffer)
    view.setUint16(PART_HEADER_BYTES - 4, i)
    view.setUint16(PART_HEADER_BYTES - 2, parts)
    data.set(slice, PART_HEADER_BYTES)
    out.push({ cid: blockCid(data), data })
  }
  return out
}

/** the number of parts and the key id a first part announces; throws on anything else */
export function partHeader (first: Uint8Array): { parts: number, keyId: string } {
  if (first.byteLength <= PART_HEADER_BYTES || MAGIC.some((b, i) => first[i] !== b)) throw new SealOpenError('record')
  const view = new DataView(first.buffer, first.byteOffset, first.byteLength)
  if (view.getUint16(PART_HEADER_BYTES - 4) !== 0) throw new SealOpenError('record')
  return { parts: view.getUint16(PART_HEADER_BYTES - 2), keyId: Buffer.from(first.subarray(MAGIC.byteLength, MAGIC.byteLength + KEY_ID_BYTES)).toString('hex') }
}

/** Opens the parts of a sealed payload with `key` (the one the first part names). */
export function openPayload (key: FolderKey, partsData: readonly Uint8Array[]): RecordPayload {
  const first = partsData[0]
  if (first === undefined) throw new SealOpenError('record')
  const head = first.subarray(0, PART_HEADER_BYTES - 4)
  const { parts, keyId } = partHeader(first)
  if (keyId !== key.id || parts !== partsData.length) throw new SealOpenError('record')
  const slices = partsData.map((p, i) => {
    const view = new DataView(p.buffer, p.byteOffset, p.byteLength)
    if (p.byteLength <= PART_HEADER_BYTES || !Buffer.from(p.subarray(0, PART_HEADER_BYTES - 4)).equals(head) ||
      view.getUint16(PART_HEADER_BYTES - 4) !== i || view.getUint16(PART_HEADER_BYTES - 2) !== parts) throw new SealOpenError('record')
    return p.subarray(PART_HEADER_BYTES)
  })
  const ct = Buffer.concat(slices)
  if (ct.byteLength < SEAL_TAG_BYTES + 4) throw new SealOpenError('record')
  let padded: Buffer
  try {
    const decipher = createDecipheriv(SEAL_CIPHER, kdf(key.key, 'ferry record seal v1'), head.subarray(MAGIC.byteLength + KEY_ID_BYTES))
    decipher.setAAD(head.subarray(0, MAGIC.byteLength + KEY_ID_BYTES))
    decipher.setAuthTag(ct.subarray(ct.byteLength - SEAL_TAG_BYTES))
    padded = Buffer.concat([decipher.update(ct.subarray(0, ct.byteLength - SEAL_TAG_BYTES)), decipher.final()])
  } catch {
    throw new SealOpenError('record')
  }
  try {
    const length = padded.readUInt32BE(0)
    const [format, bytes, signature, blocks] = decode(padded.subarray(4, 4 + length)) as [number, Uint8Array, Uint8Array, Array<[Uint8Array, number, Uint8Array, number]>]
    if (format !== PAYLOAD_FORMAT || !(bytes instanceof Uint8Array) || !(signature instanceof Uint8Array) || !Array.isArray(blocks)) throw new Error('bad payload')
    return {
      bytes,
      signature,
      blocks: blocks.map(([p, ps, c, cs]) => {
        if (!Number.isSafeInteger(ps) || !Number.isSafeInteger(cs)) throw new Error('bad block entry')
        return { plainCid: decodeBlockCid(p), plainSize: ps, cid: decodeBlockCid(c), size: cs }
      })
    }
  } catch {
    throw new SealOpenError('record')
  }
}

/**
 * The record the relay stores for a sealed one: the author's device and seq (the relay keeps
 * positions and newest-per-path by them), a tag for the path, and as blocks the payload's parts
 * followed by the distinct ciphertext blocks in the order they first occur (repeats in the file
 * stay hidden; the order is the upload order, which the relay sees anyway, and keeps an edit's
 * envelope a small record delta of the previous one). Everything else is a constant. The author signs it; the relay verifies that signature.
 */
export function envelopeRecord (o: { inner: FileRecord, path: string, parts: readonly SealedBlock[], blocks: readonly SealedBlockRef[] }): FileRecord {
  const distinct = new Map<string, BlockRef>()
  for (const b of o.blocks) distinct.set(cidKey(b.cid), { cid: b.cid, size: b.size })
  const refs: BlockRef[] = [
    ...o.parts.map(p => ({ cid: p.cid, size: p.data.byteLength })),
    ...distinct.values()
  ]
  return {
    folder: o.inner.folder,
    device: o.inner.device,
    seq: o.inner.seq,
    path: o.path,
    type: 'file',
    size: refs.reduce((n, b) => n + b.size, 0),
    mode: 0,
    mtimeMs: 0,
    deleted: false,
    modifiedBy: o.inner.device,
    version: {},
    blocks: refs
  }
}

export class MisplacedSealedRecordError extends FerryError {
  constructor (why: string) {
    super(`a sealed record does not match its envelope: ${why}`, 'ERR_FERRY_SEALED_MISMATCH')
  }
}

/**
 * Checks that an opened payload belongs to its envelope: the same folder, author and seq, and
 * every ciphertext block it names listed in the envelope (so the relay keeps them). The inner
 * signature is checked by whoever accepts the record. Returns the inner record.
 */
export function checkPayload (envelope: FileRecord, payload: RecordPayload): FileRecord {
  let inner: FileRecord
  try { inner = decodeRecord(payload.bytes) } catch (err) { throw new MisplacedSealedRecordError((err as Error).message) }
  if (inner.folder !== envelope.folder || inner.device !== envelope.device || inner.seq !== envelope.seq) throw new MisplacedSealedRecordError('another folder, device or seq')
  const listed = new Set(envelope.blocks.map(b => cidKey(b.cid)))
  const plain = new Set(inner.blocks.map(b => cidKey(b.cid)))
  for (const b of payload.blocks) {
    if (!listed.has(cidKey(b.cid))) throw new MisplacedSealedRecordError('a block is not in the envelope')
    plain.delete(cidKey(b.plainCid))
  }
  if (plain.size > 0) throw new MisplacedSealedRecordError('a block of the record has no sealed copy')
  return inner
}
