import { encode, decode } from 'cborg'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PrivateKey, PublicKey } from '@libp2p/interface'
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

export async function signRecord (record: FileRecord, key: PrivateKey): Promise<SignedRecord> {
  const bytes = encodeRecord(record)
  const signature = await key.sign(signedPayload(bytes))
  return { record, bytes, signature }
}

const publicKeys = new Map<string, PublicKey>()

function devicePublicKey (device: string): PublicKey {
  let key = publicKeys.get(device)
  if (key === undefined) {
    let pk: PublicKey | undefined
    try {
      const peer = peerIdFromString(device)
      pk = peer.type === 'Ed25519' ? peer.publicKey : undefined
    } catch { pk = undefined }
    if (pk === undefined) throw new InvalidRecordError(`device ${device} is not an Ed25519 peer id`)
    key = pk
    publicKeys.set(device, key)
  }
  return key
}

/** Decodes and verifies a record signed by its `device`; throws InvalidRecordError / ForgedRecordError. */
export async function openSignedRecord (bytes: Uint8Array, signature: Uint8Array): Promise<SignedRecord> {
  if (signature.byteLength !== ED25519_SIGNATURE_BYTES) throw new InvalidRecordError('bad signature length')
  const record = decodeRecord(bytes)
  const ok = await devicePublicKey(record.device).verify(signedPayload(bytes), signature)
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
  return { record: decodeRecord(v[0]), bytes: v[0], signature: v[1] }
}
