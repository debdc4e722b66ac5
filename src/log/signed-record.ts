import { encode, decode } from 'cborg'
import { peerIdFromString } from '@libp2p/peer-id'
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import type { PrivateKey } from '@libp2p/interface'
import type { FileRecord } from '../model/file-record.ts'
import { decodeRecord, encodeRecord, InvalidRecordError, MAX_RECORD_BYTES, STRICT_CBOR } from './record-codec.ts'
import { FerryError } from '../errors.ts'

/** Domain separation: a record signature can never be replayed as another kind of signature. */
const SIGNATURE_DOMAIN = new TextEncoder().encode('ferry/record/1\0')
const ED25519_SIGNATURE_BYTES = 64

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

export async function signRecord (record: FileRecord, key: PrivateKey): Promise<SignedRecord> {
  const bytes = encodeRecord(record)
  const privateKey = nodePrivateKey(key)
  const signature = await new Promise<Uint8Array>((resolve, reject) => {
    sign(null, signedPayload(bytes), privateKey, (err, sig) => { if (err !== null) reject(err); else resolve(new Uint8Array(sig.buffer, sig.byteOffset, sig.byteLength)) })
  })
  return { record, bytes, signature }
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
  if (signature.byteLength !== ED25519_SIGNATURE_BYTES) throw new InvalidRecordError('bad signature length')
  const record = decoded ?? decodeRecord(bytes)
  const publicKey = devicePublicKey(record.device)
  const ok = await new Promise<boolean>((resolve, reject) => {
    verify(null, signedPayload(bytes), publicKey, signature, (err, valid) => { if (err !== null) reject(err); else resolve(valid) })
  })
  if (!ok) throw new ForgedRecordError(record.device, record.seq)
  return { record, bytes, signature }
}

/** Storage / wire envelope: CBOR [bytes, signature]. */
export function encodeSignedRecord (s: SignedRecord): Uint8Array {
  return encode([s.bytes, s.signature])
}

export async function decodeSignedRecord (envelope: Uint8Array): Promise<SignedRecord> {
  if (envelope.byteLength > MAX_RECORD_BYTES + 128) throw new InvalidRecordError('envelope too large')
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
