import { createCipheriv, createDecipheriv, hkdfSync, webcrypto } from 'node:crypto'
import type { CID } from 'multiformats/cid'
import { blockCid, blockMatches } from '../hashing/block-cid.ts'
import { MAX_PLAIN_BLOCK_BYTES } from '../log/record-codec.ts'
import { padmeLength, zeroPadded } from './padding.ts'
import { SealOpenError } from './seal-errors.ts'

/** the AEAD: AES-256-GCM (AES-NI on every machine ferry targets) */
export const SEAL_CIPHER = 'aes-256-gcm'
export const SEAL_TAG_BYTES = 16
/** a sealed block is never shorter than this: every file under 4 KiB looks the same */
export const MIN_SEALED_BLOCK_BYTES = 4096
const BLOCK_KEY_INFO = new TextEncoder().encode('ferry block seal v1\0')
/**
 * Fixed: every block key is derived from one plaintext's hash, so each key seals exactly one
 * plaintext (a second plaintext with that hash would be a SHA-256 collision). A (key, nonce)
 * pair is therefore never used for two different messages, which is all GCM requires.
 */
const FIXED_NONCE = new Uint8Array(12)

export interface SealedBlock {
  /** the ciphertext's block CID: what the relay stores, serves and collects by */
  cid: CID
  data: Uint8Array
}

/** the key of one block: HKDF-SHA256(folder key, info = domain || plaintext CID) */
export function blockKey (folderKey: Uint8Array, plainCid: CID): Uint8Array {
  const info = new Uint8Array(BLOCK_KEY_INFO.byteLength + plainCid.bytes.byteLength)
  info.set(BLOCK_KEY_INFO, 0)
  info.set(plainCid.bytes, BLOCK_KEY_INFO.byteLength)
  return new Uint8Array(hkdfSync('sha256', folderKey, new Uint8Array(0), info, 32))
}

/** the padded plaintext length of a block of `plainBytes` */
export function sealedPlainLength (plainBytes: number): number {
  return Math.min(padmeLength(plainBytes, MIN_SEALED_BLOCK_BYTES), Math.max(plainBytes, MAX_PLAIN_BLOCK_BYTES))
}

/**
 * (The uploads and downloads use sealBlockOffThread and openBlockOffThread; these two, on the
 * event loop, are the reference the tests hold those against.)
 *
 * Convergent sealing: the same plaintext under the same folder key always gives the same
 * ciphertext (so the relay dedups and a re-upload is a no-op); another folder key gives another.
 * Layout: AES-256-GCM(block key, fixed nonce, plaintext zero-padded to Padmé length) || tag.
 */
export function sealBlock (folderKey: Uint8Array, plainCid: CID, plaintext: Uint8Array): SealedBlock {
  const cipher = createCipheriv(SEAL_CIPHER, blockKey(folderKey, plainCid), FIXED_NONCE)
  const padded = zeroPadded(plaintext, sealedPlainLength(plaintext.byteLength))
  const data = Buffer.concat([cipher.update(padded), cipher.final(), cipher.getAuthTag()])
  return { cid: blockCid(data), data }
}

/**
 * sealBlock with the cipher run on the thread pool (WebCrypto's AES-GCM: the same bytes, since
 * its output is the ciphertext followed by the tag, which is this layout). The event loop only
 * pads and hashes, and one buffer is made instead of three: an upload seals every byte it sends.
 */
export async function sealBlockOffThread (folderKey: Uint8Array, plainCid: CID, plaintext: Uint8Array): Promise<SealedBlock> {
  return await sealPaddedOffThread(folderKey, plainCid, zeroPadded(plaintext, sealedPlainLength(plaintext.byteLength)))
}

/**
 * sealBlockOffThread of a block already zero-padded to its sealedPlainLength: an upload reads
 * each block into a buffer it reuses, pads it there, and seals it from there (no new buffer but
 * the ciphertext: a block's plaintext and padded copy were garbage the next moment, and the
 * garbage collector ran a full collection for every ~60 MiB of them).
 */
export async function sealPaddedOffThread (folderKey: Uint8Array, plainCid: CID, padded: Uint8Array): Promise<SealedBlock> {
  const key = await webcrypto.subtle.importKey('raw', blockKey(folderKey, plainCid), 'AES-GCM', false, ['encrypt'])
  const data = new Uint8Array(await webcrypto.subtle.encrypt({ name: 'AES-GCM', iv: FIXED_NONCE, tagLength: SEAL_TAG_BYTES * 8 }, key, padded))
  return { cid: blockCid(data), data }
}

/** openBlock with the cipher run on the thread pool (see sealBlockOffThread); throws SealOpenError */
export async function openBlockOffThread (folderKey: Uint8Array, plainCid: CID, plainBytes: number, sealed: Uint8Array): Promise<Uint8Array> {
  if (sealed.byteLength < SEAL_TAG_BYTES + plainBytes) throw new SealOpenError(`block ${plainCid.toString()}`)
  const key = await webcrypto.subtle.importKey('raw', blockKey(folderKey, plainCid), 'AES-GCM', false, ['decrypt'])
  let padded: ArrayBuffer
  try {
    padded = await webcrypto.subtle.decrypt({ name: 'AES-GCM', iv: FIXED_NONCE, tagLength: SEAL_TAG_BYTES * 8 }, key, sealed)
  } catch {
    throw new SealOpenError(`block ${plainCid.toString()}`)
  }
  const plain = new Uint8Array(padded, 0, plainBytes)
  if (!blockMatches(plainCid, plain)) throw new SealOpenError(`block ${plainCid.toString()}`)
  return plain
}

/** Opens a sealed block and checks the plaintext against `plainCid`; throws SealOpenError. */
export function openBlock (folderKey: Uint8Array, plainCid: CID, plainBytes: number, sealed: Uint8Array): Uint8Array {
  if (sealed.byteLength < SEAL_TAG_BYTES + plainBytes) throw new SealOpenError(`block ${plainCid.toString()}`)
  const decipher = createDecipheriv(SEAL_CIPHER, blockKey(folderKey, plainCid), FIXED_NONCE)
  decipher.setAuthTag(sealed.subarray(sealed.byteLength - SEAL_TAG_BYTES))
  let padded: Buffer
  try {
    padded = Buffer.concat([decipher.update(sealed.subarray(0, sealed.byteLength - SEAL_TAG_BYTES)), decipher.final()])
  } catch {
    throw new SealOpenError(`block ${plainCid.toString()}`)
  }
  const plain = padded.subarray(0, plainBytes)
  if (!blockMatches(plainCid, plain)) throw new SealOpenError(`block ${plainCid.toString()}`)
  return plain
}
