import { createHash, webcrypto } from 'node:crypto'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { create as createDigest } from 'multiformats/hashes/digest'

/** multicodec code of sha2-256 */
const SHA2_256_CODE = 0x12

/** CIDv1, raw codec, sha2-256: the id of a block of file content. */
export function blockCid (bytes: Uint8Array): CID {
  const hash = createHash('sha256').update(bytes).digest()
  return CID.createV1(raw.code, createDigest(SHA2_256_CODE, new Uint8Array(hash.buffer, hash.byteOffset, hash.byteLength)))
}

/** blockCid computed on the thread pool (WebCrypto), so hashing runs beside the main thread */
export async function blockCidAsync (bytes: Uint8Array): Promise<CID> {
  const hash = new Uint8Array(await webcrypto.subtle.digest('SHA-256', bytes))
  return CID.createV1(raw.code, createDigest(SHA2_256_CODE, hash))
}

/** True when `bytes` hash to `cid` (only sha2-256 raw CIDs are accepted). */
export function blockMatches (cid: CID, bytes: Uint8Array): boolean {
  if (cid.version !== 1 || cid.code !== raw.code || cid.multihash.code !== SHA2_256_CODE) return false
  return blockCid(bytes).equals(cid)
}

/** Parses the binary form of a block CID, refusing anything but CIDv1/raw/sha2-256. */
export function decodeBlockCid (bytes: Uint8Array): CID {
  const cid = CID.decode(bytes)
  if (cid.version !== 1 || cid.code !== raw.code || cid.multihash.code !== SHA2_256_CODE || cid.multihash.size !== 32) {
    throw new Error('not a CIDv1 raw sha2-256 block id')
  }
  return cid
}
