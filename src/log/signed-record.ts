import { encode, decode } from 'cborg'
import { peerIdFromString } from '@libp2p/peer-id'
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import { batchMessage, buildBatchTree, ED25519_SIGNATURE_BYTES, encodeBatchProof, leafHash, MAX_BATCH_PROOF_BYTES, openBatchProof, type OpenedBatchProof } from './batch-proof.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { FileRecord } from '../model/file-record.ts'
import { decodeRecord, encodeRecord, InvalidRecordError, MAX_RECORD_BYTES, STRICT_CBOR } from './record-codec.ts'
import { FerryError } from '../errors.ts'

/** Domain separation: a record signature can never be replayed as another kind of signature. */
const SIGNATURE_DOMAIN = new TextEncoder().encode('ferry/record/1\0')

/** A record with the exact bytes its author signed. Forwarded verbatim by any holder. */
export interface SignedRecord {
  readonly record: FileRecord
  readonly bytes: Uint8Array
  readonly signature: Uint8Array
}

export class ForgedRecordError extends FerryError {
  constructor (device: string, seq: number) {
    super(`record ${device}#${seq} has a bad signature`, 'ERR_FERRY_FORGED_RECORD')
  }
}

function signedPayload (bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(SIGNATURE_DOMAIN.byteLength + bytes.byteLength)
  out.set(SIGNATURE_DOMAIN, 0)
  out.set(bytes, SIGNATURE_DOMAIN.byteLength)
  return out
}

// Signing and verifying go straight to node:crypto with KeyObjects made once per key: building
// a KeyObject per call (as @libp2p/crypto does) cost more than the signature itself.
const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url')
const privateKeys = new WeakMap<PrivateKey, KeyObject>()

function nodePrivateKey (key: PrivateKey): KeyObject {
  let k = privateKeys.get(key)
  if (k === undefined) {
    if (key.type !== 'Ed25519') throw new FerryError('device keys must be Ed25519', 'ERR_FERRY_BAD_KEY')
    // libp2p's raw Ed25519 private key is seed (32 bytes) || public key (32 bytes)
    k = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: b64url(key.raw.subarray(0, 32)), x: b64url(key.publicKey.raw) }, format: 'jwk' })
    privateKeys.set(key, k)
  }
  return k
}

// Both run on libuv's thread pool (node:crypto's callback forms): the main thread only queues
// them, so many records are signed or verified at once, beside the event loop. For thousands of
// small files this was the largest single cost on the main thread of both ends.

/** records per signed batch: proofs stay <= 6 + 64 + 10 x 32 bytes */
const MAX_BATCH_RECORDS = 1024

const signWith = async (message: Uint8Array, key: KeyObject): Promise<Uint8Array> => await new Promise<Uint8Array>((resolve, reject) => {
  sign(null, message, key, (err, sig) => { if (err !== null) reject(err); else resolve(new Uint8Array(sig.buffer, sig.byteOffset, sig.byteLength)) })
})

/** Ed25519 checks made by this process (for tests and benchmarks) */
export const signatureChecks = { count: 0 }

const verifyWith = async (message: Uint8Array, key: KeyObject, signature: Uint8Array): Promise<boolean> => await new Promise<boolean>((resolve, reject) => {
  signatureChecks.count++
  verify(null, message, key, signature, (err, valid) => { if (err !== null) reject(err); else resolve(valid) })
})

export async function signRecord (record: FileRecord, key: PrivateKey): Promise<SignedRecord> {
  const bytes = encodeRecord(record)
  return { record, bytes, signature: await signWith(signedPayload(bytes), nodePrivateKey(key)) }
}

/**
 * Signs records made together: one record gets a plain signature; several get one signature
 * of their batch's Merkle root and each its own proof (src/log/batch-proof.ts).
 */
export async function signRecords (records: readonly FileRecord[], key: PrivateKey): Promise<SignedRecord[]> {
  if (records.length === 1) return [await signRecord(records[0]!, key)]
  const out: SignedRecord[] = []
  for (let from = 0; from < records.length; from += MAX_BATCH_RECORDS) {
    const part = records.slice(from, from + MAX_BATCH_RECORDS)
    if (part.length === 1) { out.push(await signRecord(part[0]!, key)); continue }
    const bytes = part.map(r => encodeRecord(r))
    const tree = buildBatchTree(bytes.map(b => leafHash(b)))
    const rootSignature = await signWith(batchMessage(tree.depth, tree.root), nodePrivateKey(key))
    part.forEach((record, i) => out.push({ record, bytes: bytes[i]!, signature: encodeBatchProof(tree.depth, i, rootSignature, tree.siblings[i]!) }))
  }
  return out
}

/** Public keys of devices whose records we verified; only members' records get this far. */
const publicKeys = new Map<string, KeyObject>()

function devicePublicKey (device: string): KeyObject {
  let key = publicKeys.get(device)
  if (key === undefined) {
    let raw: Uint8Array | undefined
    try {
      const peer = peerIdFromString(device)
      raw = peer.type === 'Ed25519' ? peer.publicKey.raw : undefined
    } catch { raw = undefined }
    if (raw === undefined) throw new InvalidRecordError(`device ${device} is not an Ed25519 peer id`)
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(raw) }, format: 'jwk' })
    publicKeys.set(device, key)
  }
  return key
}

/**
 * Decodes and verifies a record signed by its `device`; throws InvalidRecordError /
 * ForgedRecordError. `decoded` is `decodeRecord(bytes)` when the caller already has it.
 */
export async function openSignedRecord (bytes: Uint8Array, signature: Uint8Array, decoded?: FileRecord): Promise<SignedRecord> {
  let check: (key: KeyObject, device: string) => Promise<boolean>
  if (signature.byteLength === ED25519_SIGNATURE_BYTES) {
    check = async key => await verifyWith(signedPayload(bytes), key, signature)
  } else {
    const proof = openBatchProof(bytes, signature)
    if (proof === undefined) throw new InvalidRecordError('bad signature length')
    check = async (key, device) => await verifiedRoot(device, proof, key)
  }
  const record = decoded ?? decodeRecord(bytes)
  if (!await check(devicePublicKey(record.device), record.device)) throw new ForgedRecordError(record.device, record.seq)
  return { record, bytes, signature }
}

/**
 * Batch roots already checked (or being checked), so the records of one batch cost one
 * signature check between them. Keyed by device, root and the signature bytes themselves: a
 * proof with a valid root but other signature bytes is checked on its own (we forward records
 * verbatim, so we must never keep one whose signature others would refuse).
 */
const rootChecks = new Map<string, Promise<boolean>>()
const MAX_ROOT_CHECKS = 1024

async function verifiedRoot (device: string, proof: OpenedBatchProof, key: KeyObject): Promise<boolean> {
  const id = `${device}\0${Buffer.from(proof.root).toString('hex')}\0${Buffer.from(proof.signature).toString('hex')}\0${proof.depth}`
  let p = rootChecks.get(id)
  if (p === undefined) {
    p = verifyWith(batchMessage(proof.depth, proof.root), key, proof.signature)
    rootChecks.set(id, p)
    if (rootChecks.size > MAX_ROOT_CHECKS) rootChecks.delete(rootChecks.keys().next().value!)
    p.catch(() => { rootChecks.delete(id) })
  }
  return await p
}

/** Storage / wire envelope: CBOR [bytes, signature]. */
export function encodeSignedRecord (s: SignedRecord): Uint8Array {
  return encode([s.bytes, s.signature])
}

export async function decodeSignedRecord (envelope: Uint8Array): Promise<SignedRecord> {
  if (envelope.byteLength > MAX_RECORD_BYTES + MAX_BATCH_PROOF_BYTES + 16) throw new InvalidRecordError('envelope too large')
  let v: unknown
  try { v = decode(envelope, STRICT_CBOR) } catch (err) { throw new InvalidRecordError(`bad envelope: ${(err as Error).message}`) }
  if (!Array.isArray(v) || v.length !== 2 || !(v[0] instanceof Uint8Array) || !(v[1] instanceof Uint8Array)) {
    throw new InvalidRecordError('envelope must be [bytes, signature]')
  }
  return openSignedRecord(v[0], v[1])
}

/** For our own database, whose content was verified when it was written. */
export function decodeStoredRecord (envelope: Uint8Array): SignedRecord {
  const v = decode(envelope, STRICT_CBOR) as [Uint8Array, Uint8Array]
  return { record: decodeRecord(v[0], { trusted: true }), bytes: v[0], signature: v[1] }
}
