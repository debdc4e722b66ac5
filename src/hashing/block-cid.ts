import { createHash, webcrypto } from 'node:crypto'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { create as createDigest } from 'multiformats/hashes/digest'

/** multicodec code of sha2-256 */
const SHA2_256_CODE = 0x12

/** CIDv1, raw codec, sha2-256: the id of a block of file content. */
export function blockCid (bytes: Uint8Array): CID {
  return blockCidOfDigest(createHash('sha256').update(bytes).digest())
}

/** the block CID of a sha2-256 digest */
export function blockCidOfDigest (digest: Uint8Array): CID {
  return CID.createV1(raw.code, createDigest(SHA2_256_CODE, new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength)))
}

/** True for the only kind of block id ferry accepts: CIDv1, raw, sha2-256. */
export function isBlockCid (cid: CID): boolean {
  return cid.version === 1 && cid.code === raw.code && cid.multihash.code === SHA2_256_CODE
}

/** blockCid computed on the thread pool (WebCrypto), so hashing runs beside the main thread */
export async function blockCidAsync (bytes: Uint8Array): Promise<CID> {
  return blockCidOfDigest(new Uint8Array(await webcrypto.subtle.digest('SHA-256', bytes)))
}

/** True when `bytes` hash to `cid` (only sha2-256 raw CIDs are accepted). */
export function blockMatches (cid: CID, bytes: Uint8Array): boolean {
  return isBlockCid(cid) && blockCid(bytes).equals(cid)
}

/** Parses the binary form of a block CID, refusing anything but CIDv1/raw/sha2-256. */
export function decodeBlockCid (bytes: Uint8Array): CID {
  const cid = CID.decode(bytes)
  if (cid.version !== 1 || cid.code !== raw.code || cid.multihash.code !== SHA2_256_CODE || cid.multihash.size !== 32) {
    throw new Error('not a CIDv1 raw sha2-256 block id')
  }
  return cid
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'

/**
 * `cid.toString()` (multibase base32, prefix "b"), built as one flat string. multiformats
 * builds the string a character at a time and caches it on the CID: V8 keeps such a string as a
 * tree of ~60 concatenation nodes (~1.5 KB instead of ~80 bytes), and every block of every file
 * we hold has one as a map key: 21 MB of heap for a 4 GiB file. Use this for keys and lookups.
 */
export function cidKey (cid: CID): string {
  let key = cidKeys.get(cid)
  if (key === undefined) {
    key = computeCidKey(cid)
    cidKeys.set(cid, key)
  }
  return key
}

/** keys already built, per CID object (one CID of a record is keyed many times on its way) */
const cidKeys = new WeakMap<CID, string>()

function computeCidKey (cid: CID): string {
  const bytes = cid.bytes
  const out = new Uint8Array(1 + Math.ceil(bytes.byteLength * 8 / 5))
  out[0] = 0x62 // 'b'
  let o = 1
  let buffer = 0
  let bits = 0
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte
    bits += 8
    while (bits >= 5) {
      bits -= 5
      out[o++] = BASE32.charCodeAt((buffer >> bits) & 31)
    }
  }
  if (bits > 0) out[o++] = BASE32.charCodeAt((buffer << (5 - bits)) & 31)
  return Buffer.from(out.buffer, 0, o).toString('latin1')
}
