import { createHash, webcrypto } from 'node:crypto'
import { CID } from 'multiformats/cid'
import { Digest } from 'multiformats/hashes/digest'

/** multicodec code of sha2-256 */
const SHA2_256_CODE = 0x12

/** multicodec code of raw */
const RAW_CODE = 0x55
const DIGEST_BYTES = 32
/** the binary form of every block CID: varints 1 (CIDv1), 0x55 (raw), 0x12 (sha2-256), 32, then the digest */
const PREFIX = [0x01, RAW_CODE, SHA2_256_CODE, DIGEST_BYTES] as const
const CID_BYTES = PREFIX.length + DIGEST_BYTES
/**
 * Block CIDs' bytes are carved out of shared slabs. A CID made the usual way owns three small
 * ArrayBuffers (digest, multihash, CID bytes), each with its native backing store: ~1 KB per
 * block, for every block of every file held (a 4 GiB file is ~16,000 blocks, and several
 * structures hold its block list). Here one 36-byte slice holds all three as views. A slab stays
 * alive while any CID cut from it does, so it is kept small.
 */
const SLAB_BYTES = 128 * CID_BYTES
let slab = new Uint8Array(0)
let slabUsed = 0

/** CIDv1, raw codec, sha2-256: the id of a block of file content. */
export function blockCid (bytes: Uint8Array): CID {
  return blockCidOfDigest(createHash('sha256').update(bytes).digest())
}

/** A block CID over a fresh copy of `digest` (32 bytes), its views sharing one slab slice. */
function cidOfDigestBytes (digest: Uint8Array): CID {
  if (slabUsed + CID_BYTES > slab.byteLength) {
    slab = new Uint8Array(SLAB_BYTES)
    slabUsed = 0
  }
  const bytes = slab.subarray(slabUsed, slabUsed + CID_BYTES)
  slabUsed += CID_BYTES
  bytes.set(PREFIX, 0)
  bytes.set(digest, PREFIX.length)
  const multihash = new Digest(SHA2_256_CODE, DIGEST_BYTES, bytes.subarray(PREFIX.length), bytes.subarray(2))
  return new CID(1, RAW_CODE, multihash, bytes)
}

/** the block CID of a sha2-256 digest (copied) */
export function blockCidOfDigest (digest: Uint8Array): CID {
  if (digest.byteLength !== DIGEST_BYTES) throw new Error('not a sha2-256 digest')
  return cidOfDigestBytes(digest)
}

/** True when `digest` (a sha2-256 digest) is the one `cid` names; makes no CID */
export function digestMatches (cid: CID, digest: Uint8Array): boolean {
  if (!isBlockCid(cid) || digest.byteLength !== DIGEST_BYTES) return false
  const d = cid.multihash.digest
  if (d.byteLength !== DIGEST_BYTES) return false
  for (let i = 0; i < DIGEST_BYTES; i++) if (d[i] !== digest[i]) return false
  return true
}

/** True for the only kind of block id ferry accepts: CIDv1, raw, sha2-256. */
export function isBlockCid (cid: CID): boolean {
  return cid.version === 1 && cid.code === RAW_CODE && cid.multihash.code === SHA2_256_CODE
}

/** blockCid computed on the thread pool (WebCrypto), so hashing runs beside the main thread */
export async function blockCidAsync (bytes: Uint8Array): Promise<CID> {
  return blockCidOfDigest(new Uint8Array(await webcrypto.subtle.digest('SHA-256', bytes)))
}

/** True when `bytes` hash to `cid` (only sha2-256 raw CIDs are accepted). */
export function blockMatches (cid: CID, bytes: Uint8Array): boolean {
  return digestMatches(cid, createHash('sha256').update(bytes).digest())
}

/**
 * Parses the binary form of a block CID, refusing anything but CIDv1/raw/sha2-256 (in its one,
 * shortest form). The CID does not keep a view of `bytes` (which may be a message buffer).
 */
export function decodeBlockCid (bytes: Uint8Array): CID {
  if (bytes.byteLength !== CID_BYTES || PREFIX.some((b, i) => bytes[i] !== b)) {
    throw new Error('not a CIDv1 raw sha2-256 block id')
  }
  return cidOfDigestBytes(bytes.subarray(PREFIX.length))
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
